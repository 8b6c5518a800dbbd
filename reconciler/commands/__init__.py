"""One module per `reconcile` subcommand; each public function prints and returns an exit code."""
