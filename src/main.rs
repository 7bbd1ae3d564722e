//! The `theater-replay` binary: parses the command line and hands over to the library.

fn main() -> std::process::ExitCode {
    theater_replay::cli::main()
}
