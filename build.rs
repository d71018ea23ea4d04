//! Generates the C header `include/jellyscale.h` from `src/ffi` with cbindgen. The header is
//! committed; CI rebuilds and fails if the committed copy differs.

fn main() {
    // cbindgen reads every module (public constants anywhere end up in the header).
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let config = cbindgen::Config::from_file(format!("{crate_dir}/cbindgen.toml")).expect("cbindgen.toml is valid");
    let header = format!("{crate_dir}/include/jellyscale.h");
    match cbindgen::Builder::new().with_crate(&crate_dir).with_config(config).generate() {
        // write_to_file leaves the file alone when nothing changed, so builds stay incremental.
        Ok(bindings) => {
            bindings.write_to_file(&header);
        }
        Err(e) => panic!("cbindgen failed: {e}"),
    }
}
