//! `jellyscale`: the command line over the engine (upscale, serve, probe, caps, plan).

mod cli;

fn main() {
    std::process::exit(cli::run());
}
