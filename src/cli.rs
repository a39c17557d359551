//! Command line (placeholder while the tree is built).
pub fn main() -> std::process::ExitCode { std::process::ExitCode::SUCCESS }
