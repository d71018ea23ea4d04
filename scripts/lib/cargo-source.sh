# Sourced by the scripts: when crates.io cannot be reached, points this project's cargo at the
# vendored crates of ../shared with a gitignored .cargo/config.toml of its own (never the
# user's global ~/.cargo/config.toml, which other Rust projects share). Expects $root.
if ! timeout 5 bash -c '</dev/tcp/index.crates.io/443' 2>/dev/null; then
  if [ -x "$root/../shared/dev/use-vendored-crates" ]; then
    "$root/../shared/dev/use-vendored-crates" --into "$root/.cargo/config.toml" >/dev/null
  fi
elif [ -f "$root/.cargo/config.toml" ] && [ -x "$root/../shared/dev/use-vendored-crates" ]; then
  "$root/../shared/dev/use-vendored-crates" --undo --into "$root/.cargo/config.toml" >/dev/null
fi
