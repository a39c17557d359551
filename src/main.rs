fn main() -> std::process::ExitCode {
    alpha_panda::cli::main()
}
