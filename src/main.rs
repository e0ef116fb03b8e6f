fn main() {
    std::process::exit(oidc_conform::cli::main());
}
