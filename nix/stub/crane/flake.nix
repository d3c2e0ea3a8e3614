# Offline stand-in for crane (github:ipetkov/crane), for CI only (see ../nixpkgs/flake.nix): the
# functions flake.nix calls, checking the arguments crane requires and returning stub derivations
# of the given nixpkgs.
{
  description = "stub crane for offline evaluation of scaling harness's flake";
  outputs = { self }: {
    mkLib = pkgs:
      let
        need = fn: names: args:
          builtins.foldl' (ok: n: ok && (args ? ${n} || builtins.throw "stub crane: ${fn} needs `${n}`")) true names;
        cargo = fn: required: args:
          assert need fn required args;
          pkgs.stdenv.mkDerivation (builtins.removeAttrs args [ "meta" ] // {
            pname = "${args.pname or "workspace"}-${fn}";
            version = args.version or "0";
          });
      in
      {
        # Calls an override with a lightgbm3-sys package, so its body is evaluated too.
        vendorCargoDeps = args:
          assert need "vendorCargoDeps" [ "src" ] args;
          let
            crate = pkgs.stdenv.mkDerivation { pname = "lightgbm3-sys"; version = "1.0.11"; };
            over = (args.overrideVendorCargoPackage or (_: d: d)) { name = "lightgbm3-sys"; version = "1.0.11"; } crate;
          in
          pkgs.stdenv.mkDerivation { pname = "vendor-cargo-deps"; version = "0"; lightgbm3_sys = over; };
        buildDepsOnly = cargo "deps" [ "src" ];
        buildPackage = args: cargo "build" [ "src" "cargoArtifacts" ] args // { meta = args.meta or { }; };
        cargoClippy = cargo "clippy" [ "src" "cargoArtifacts" ];
        cargoTest = cargo "test" [ "src" "cargoArtifacts" ];
        cargoFmt = cargo "fmt" [ "src" ];
        devShell = args: pkgs.mkShell args;
      };
  };
}
