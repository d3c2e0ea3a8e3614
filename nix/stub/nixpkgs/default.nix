# `import nixpkgs { system; config; }` of the stub: each package is a derivation whose builder
# only writes a marker, carrying the arguments it was given as environment so that evaluating it
# forces them (a missing attribute or a bad interpolation fails here as it would with nixpkgs).
{ system ? "x86_64-linux", config ? { }, ... }:
let
  lib = import ./lib.nix;
  # Values a derivation can carry as environment; functions and plain attribute sets are dropped
  # (meta, passthru), derivations and lists of them are kept.
  keep = v: !(builtins.isFunction v) && !(builtins.isAttrs v && !(v ? outPath));
  reserved = [ "name" "system" "builder" "args" "outputs" ];
  envOf = attrs: builtins.listToAttrs (map (n: { name = n; value = attrs.${n}; })
    (builtins.filter (n: keep attrs.${n} && !(builtins.elem n reserved)) (builtins.attrNames attrs)));
  mk = name: attrs:
    let
      drv = derivation (envOf attrs // {
        inherit name system;
        builder = "/bin/sh";
        args = [ "-c" "echo stub > $out" ];
      });
    in
    drv // {
      version = attrs.version or "0";
      pname = attrs.pname or (builtins.parseDrvName name).name;
      meta = attrs.meta or { };
      overrideAttrs = f: mk name (attrs // (if builtins.isFunction f then f attrs else f));
    };
  pkg = name: version: mk "${name}-${version}" { pname = name; inherit version; };
  # config.allowUnfreePredicate decides, as in nixpkgs, whether an unfree package evaluates.
  unfree = name: version:
    if (config.allowUnfreePredicate or (_: false)) (pkg name version) || (config.allowUnfree or false)
    then pkg name version
    else builtins.throw "stub nixpkgs: ${name} is unfree and not allowed by config";
  self = {
    inherit lib;
    stdenv = {
      hostPlatform.system = system;
      mkDerivation = attrs: mk (attrs.name or "${attrs.pname}-${attrs.version}") attrs;
      # The compiler's runtime libraries (libstdc++, libgomp).
      cc.cc.lib = pkg "gcc-lib" "14.3.0";
    };
    callPackage = f: extra:
      let fn = if builtins.isFunction f then f else import f;
      in fn (builtins.intersectAttrs (builtins.functionArgs fn) self // extra);
    fetchurl = { url, sha256, name ? baseNameOf url }:
      assert builtins.stringLength sha256 == 64 || builtins.substring 0 7 sha256 == "sha256-";
      mk name { inherit url sha256; };
    # nixpkgs' fetchPypi, wheel form: the file name it asks PyPI for.
    python3Packages.fetchPypi = { pname, version, format ? "setuptools", dist ? "py3", python ? "py3", abi ? "none", platform ? "any", sha256 }:
      assert format == "wheel";
      self.fetchurl {
        url = "pypi:${dist}/${pname}-${version}-${python}-${abi}-${platform}.whl";
        inherit sha256;
      };
    writeShellScript = name: text: mk name { inherit text; };
    mkShell = attrs: mk "shell" attrs;
    dockerTools.buildLayeredImage = attrs: mk "${attrs.name}.tar.gz" (attrs // { config = builtins.toJSON attrs.config; });
    rustc = pkg "rustc" "1.91.1";
    cargo = pkg "cargo" "1.91.1";
    clippy = pkg "clippy" "1.91.1";
    rustfmt = pkg "rustfmt" "1.91.1";
    rustPlatform.bindgenHook = pkg "rust-bindgen-hook" "0";
    cmake = pkg "cmake" "3.31.7";
    ninja = pkg "ninja" "1.13.1";
    emptyDirectory = mk "empty-directory" { };
    pkg-config = pkg "pkg-config-wrapper" "0.29.2";
    makeWrapper = pkg "make-shell-wrapper-hook" "0";
    mpi = pkg "openmpi" "5.0.8";
    openssh = pkg "openssh" "10.2p1";
    unzip = pkg "unzip" "6.0";
    patchelf = pkg "patchelf" "0.15.2";
    autoPatchelfHook = pkg "auto-patchelf-hook" "0";
    bashInteractive = pkg "bash-interactive" "5.3";
    coreutils = pkg "coreutils" "9.8";
    chromium = pkg "chromium" "142.0";
    checkov = pkg "checkov" "3.2.490";
    terraform = unfree "terraform" "1.13.4";
  };
in
self
