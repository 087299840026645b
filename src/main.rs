use std::process::ExitCode;

fn main() -> ExitCode {
    let status = awscreds::cli::main(std::env::args_os());
    ExitCode::from(status.code())
}
