"""Reading the desired state: configs, YAML with positions, datasets and their cache."""
