# Sourced by the scripts: a Debian release's own ffmpeg, runnable here without a chroot.
#
# ffmpeg_root SUITE   builds (once) a minimal Debian SUITE (trixie, sid, ...) with ffmpeg and
#                     mesa's software Vulkan device in $ffmpeg_roots/SUITE, and a folder of
#                     wrappers, $ffmpeg_roots/SUITE.bin, holding `ffmpeg` and `ffprobe` that run
#                     the root's binaries through the root's own dynamic loader and libraries.
#                     Every path stays what it is outside (no chroot), so put the folder first in
#                     PATH and tests and engine run that ffmpeg unchanged. Prints the folder.
#
# A root is complete only once its marker exists (written after debootstrap succeeded and its
# ffmpeg ran); an interrupted build is thrown away and made again. Set
# JELLYSCALE_FFMPEG_ROOTS to keep the roots elsewhere, JELLYSCALE_DEBIAN_MIRROR for a mirror.
ffmpeg_roots=${JELLYSCALE_FFMPEG_ROOTS:-${XDG_CACHE_HOME:-$HOME/.cache}/jellyscale/ffmpeg-roots}

ffmpeg_root() {
  local suite=$1 root="$ffmpeg_roots/$1" bin="$ffmpeg_roots/$1.bin"
  local mirror=${JELLYSCALE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  if [ ! -f "$root/.jellyscale-root-complete" ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "ffmpeg root $suite: building it needs root (debootstrap)" >&2
      return 1
    fi
    if ! command -v debootstrap >/dev/null; then
      echo "== installing debootstrap" >&2
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
        || return 1
    fi
    echo "== building the Debian $suite root with its ffmpeg (once; kept in $root)" >&2
    mkdir -p "$ffmpeg_roots"
    rm -rf "$root" "$root.partial"
    local log="$ffmpeg_roots/$suite.debootstrap.log"
    if ! debootstrap --variant=minbase --include=ffmpeg,mesa-vulkan-drivers \
      "$suite" "$root.partial" "$mirror" >"$log" 2>&1; then
      echo "ffmpeg root $suite: debootstrap failed (last lines of $log):" >&2
      tail -5 "$log" >&2
      rm -rf "$root.partial"
      return 1
    fi
    # Only the files are needed: apt's downloads are 100+ MB of nothing.
    rm -rf "$root.partial"/var/cache/apt/archives/*.deb
    ffmpeg_root_links "$root.partial"
    mv "$root.partial" "$root"
  fi
  ffmpeg_wrappers "$suite" || return 1
  if [ ! -f "$root/.jellyscale-root-complete" ]; then
    local version
    version=$("$bin/ffmpeg" -hide_banner -version 2>&1) \
      || { echo "ffmpeg root $suite: its ffmpeg does not run: $version" >&2; return 1; }
    echo "${version%%$'\n'*}" >"$root/.jellyscale-root-complete"
  fi
  echo "$bin"
}

# Absolute symlinks inside a root (the alternatives of libblas, liblapack, ...) point at the
# host's files once there is no chroot: they are made relative, inside the root.
ffmpeg_root_links() {
  local root=$1 link target
  find "$root/etc/alternatives" "$root/usr/lib" -type l -lname '/*' -print 2>/dev/null | while read -r link; do
    target=$(readlink "$link")
    ln -sfn "$(realpath -ms --relative-to="$(dirname "$link")" "$root$target")" "$link"
  done
}

# The wrappers (re)written each time: cheap, and they follow the root if it moved.
ffmpeg_wrappers() {
  local suite=$1 root="$ffmpeg_roots/$1" bin="$ffmpeg_roots/$1.bin" tool
  mkdir -p "$bin"
  # The root's Vulkan driver list names its drivers by absolute path inside the root.
  local icd=""
  local f
  for f in "$root"/usr/share/vulkan/icd.d/lvp_icd*.json; do
    [ -f "$f" ] || continue
    sed "s#\"library_path\": *\"/#\"library_path\": \"$root/#" "$f" >"$bin/lvp_icd.json"
    icd="$bin/lvp_icd.json"
  done
  # The loader is run under the tool's own name (a symlink), so the process is still called
  # ffmpeg (/proc/PID/comm): the tests that look for orphaned ffmpeg processes find it.
  mkdir -p "$bin/loader"
  # The root's libraries, and the folders of the few that others find by an absolute RUNPATH
  # (libpulse: /usr/lib/x86_64-linux-gnu/pulseaudio) or through alternatives.
  local libs="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu" dir
  for dir in "$root"/usr/lib/x86_64-linux-gnu/*/; do
    compgen -G "$dir*.so*" >/dev/null && libs="$libs:${dir%/}"
  done
  for tool in ffmpeg ffprobe; do
    ln -sfn "$root/lib64/ld-linux-x86-64.so.2" "$bin/loader/$tool"
    cat >"$bin/$tool.tmp" <<EOF
#!/bin/sh
# $tool of Debian $suite, run through that root's own loader and libraries (no chroot).
export GCONV_PATH="$root/usr/lib/x86_64-linux-gnu/gconv"${icd:+ VK_DRIVER_FILES="$icd" VK_ICD_FILENAMES="$icd"}
exec "$bin/loader/$tool" --library-path "$libs" \\
  "$root/usr/bin/$tool" "\$@"
EOF
    chmod +x "$bin/$tool.tmp"
    mv "$bin/$tool.tmp" "$bin/$tool"
  done
}
