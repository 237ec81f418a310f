"""CNN tab: three real image classifiers, what happens inside them, and transfer learning."""
