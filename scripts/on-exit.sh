# Sourced: `on_exit cmd` runs cmd when the script exits, whatever happens; several commands add up
# (a throwaway PostgreSQL and a throwaway Redis are both stopped).
ON_EXIT_COMMANDS=${ON_EXIT_COMMANDS:-}
on_exit_run() { local cmd; for cmd in $ON_EXIT_COMMANDS; do $cmd || true; done; }
on_exit() {
    ON_EXIT_COMMANDS="$ON_EXIT_COMMANDS $1"
    trap on_exit_run EXIT INT TERM
}
