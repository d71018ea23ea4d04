#!/usr/bin/env python3
"""Builds the installable plugin zips (one per Jellyfin line) and the plugin repository manifest.

Each zip holds the managed DLLs, libjellyscale.so beside them (the plugin loads it by full path)
and meta.json. manifest.json lists both versions with targetAbi, sourceUrl and the MD5 checksum
Jellyfin verifies on install. An admin adds the manifest's URL under Dashboard > Plugins >
Repositories and installs "Jellyscale" from the catalog.

--contract builds against plugin-dotnet's Jellyfin.Contract (for tests on machines without
Jellyfin's packages); such zips are marked as test builds and do not load in a real Jellyfin.
"""
import argparse
import datetime
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import zipfile

PLUGIN_DIR = pathlib.Path(__file__).resolve().parent.parent
BUILDS = [
    # (JellyfinVersion, target framework, targetAbi)
    ("10.10", "net8.0", "10.10.0.0"),
    ("10.11", "net9.0", "10.11.0.0"),
]
MANAGED = ["Jellyscale.Plugin.dll", "Jellyscale.Core.dll"]
ZIP_TIME = (2020, 1, 1, 0, 0, 0)  # fixed so the same inputs give the same checksum


def read_build_yaml():
    """The flat `key: "value"` entries of build.yaml (lists are not needed here)."""
    meta = {}
    for line in (PLUGIN_DIR / "build.yaml").read_text().splitlines():
        if line.startswith((" ", "#", "-")) or ":" not in line:
            continue
        key, value = line.split(":", 1)
        value = value.strip()
        if value:
            meta[key.strip()] = value.strip('"')
    return meta


def publish(version, framework, contract, plugin_version, out_dir):
    subprocess.run(
        ["dotnet", "publish", str(PLUGIN_DIR / "Jellyscale.Plugin" / "Jellyscale.Plugin.csproj"),
         "-c", "Release", "-f", framework, "--nologo", "-v", "q",
         f"-p:JellyfinVersion={version}", f"-p:JellyfinContract={'true' if contract else 'false'}",
         f"-p:PluginFrameworks={framework}", f"-p:Version={plugin_version}",
         # The test builds already ran the analyzers on this source; packaging only needs the binaries.
         "-p:RunAnalyzers=false", "-o", str(out_dir)],
        check=True)


def write_zip(path, files):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lib", required=True, help="libjellyscale.so to ship (a release build for real use)")
    parser.add_argument("--out", required=True, help="output folder for the zips and manifest.json")
    parser.add_argument("--base-url", required=True, help="URL the zips will be served from (sourceUrl prefix)")
    parser.add_argument("--contract", action="store_true", help="build against Jellyfin.Contract (test builds)")
    args = parser.parse_args()

    meta = read_build_yaml()
    out = pathlib.Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    library = pathlib.Path(args.lib).read_bytes()
    timestamp = os.environ.get("JELLYSCALE_TIMESTAMP") or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    changelog = meta["changelog"] + (" (TEST BUILD against Jellyfin.Contract: does not load in Jellyfin)" if args.contract else "")

    versions = []
    for jellyfin, framework, abi in BUILDS:
        build_dir = out / f"build-{jellyfin}"
        publish(jellyfin, framework, args.contract, meta["version"], build_dir)
        plugin_meta = {
            "category": meta["category"], "changelog": changelog, "description": meta["description"],
            "guid": meta["guid"], "name": meta["name"], "overview": meta["overview"], "owner": meta["owner"],
            "targetAbi": abi, "timestamp": timestamp, "version": meta["version"], "status": "Active",
            "autoUpdate": True, "imagePath": "", "assemblies": [],
        }
        files = [(name, (build_dir / name).read_bytes()) for name in MANAGED]
        files.append(("libjellyscale.so", library))
        files.append(("meta.json", json.dumps(plugin_meta, indent=2).encode()))
        zip_name = f"jellyscale_{jellyfin}_{meta['version']}.zip"
        write_zip(out / zip_name, files)
        versions.append({
            "version": meta["version"], "changelog": changelog, "targetAbi": abi,
            "sourceUrl": args.base_url.rstrip("/") + "/" + zip_name,
            "checksum": hashlib.md5((out / zip_name).read_bytes()).hexdigest(),
            "timestamp": timestamp,
        })
        print(f"{zip_name}: {versions[-1]['checksum']}")

    manifest = [{
        "guid": meta["guid"], "name": meta["name"], "description": meta["description"],
        "overview": meta["overview"], "owner": meta["owner"], "category": meta["category"],
        "imageUrl": "", "versions": versions,
    }]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(out / "manifest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
