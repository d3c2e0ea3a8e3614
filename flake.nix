{
  description = "scaling harness: scaling studies of distributed ML training over Open MPI";

  # nixos-25.11 ships rustc 1.91; the workspace needs >= 1.88 (asserted below).
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";
    crane.url = "github:ipetkov/crane";
  };

  outputs = { self, nixpkgs, crane }:
    let
      # libtorch is assembled from PyPI's x86_64 wheels (nix/libtorch.nix): one system.
      system = "x86_64-linux";
      pkgs = import nixpkgs {
        inherit system;
        # Terraform is BSL-licensed (unfree in nixpkgs); the dev shell carries it.
        config.allowUnfreePredicate = p: builtins.elem (nixpkgs.lib.getName p) [ "terraform" ];
      };
      lib = pkgs.lib;

      rustVersion = "1.88"; # Cargo.toml's workspace rust-version
      craneLib = crane.mkLib pkgs;

      libtorch = pkgs.callPackage ./nix/libtorch.nix { };

      src = lib.cleanSource ./.;

      # lightgbm3-sys's build script copies LightGBM's sources (`cp -r lightgbm $OUT_DIR`) and CMake
      # then writes into that copy; from the read-only Nix store the copy is read-only too. Patch
      # the vendored crate so the copy gets ordinary (writable) modes. xgboost_lib-sys builds
      # XGBoost's sources in place, and XGBoost's CMake writes include/xgboost/version_config.h
      # into them: patch its build script to build a writable copy in $OUT_DIR.
      cargoVendorDir = craneLib.vendorCargoDeps {
        inherit src;
        overrideVendorCargoPackage = p: drv:
          if p.name == "lightgbm3-sys" then
            drv.overrideAttrs (old: {
              postInstall = (old.postInstall or "") + ''
                substituteInPlace $out/build.rs \
                  --replace-fail '"-r", "lightgbm"' '"-r", "--no-preserve=mode", "lightgbm"'
              '';
            })
          else if p.name == "xgboost_lib-sys" then
            drv.overrideAttrs (old: {
              postInstall = (old.postInstall or "") + ''
                substituteInPlace $out/build.rs \
                  --replace-fail 'let xgb_root = Path::new("xgboost").canonicalize().unwrap();' \
                    'let xgb_root = { let d = Path::new(&out_dir).join("xgboost-src"); if !d.exists() { assert!(std::process::Command::new("cp").args(["-r", "--no-preserve=mode", "xgboost"]).arg(&d).status().unwrap().success()); } d };'
              '';
            })
          else drv;
      };

      commonArgs = {
        inherit src cargoVendorDir;
        pname = "harness";
        version = "0.1.0";
        strictDeps = true;
        cargoExtraArgs = "--locked -p harness";
        # CMake >= 3.28 and OpenMP build LightGBM (lightgbm3-sys); CMake + Ninja build XGBoost
        # (xgboost_lib-sys, `local_build`); bindgen (libclang) and Open MPI's headers make rsmpi's
        # bindings; LIBTORCH is what tch 0.26 links (libtorch 2.13).
        nativeBuildInputs = [
          pkgs.cmake
          pkgs.ninja
          pkgs.pkg-config
          pkgs.rustPlatform.bindgenHook
          pkgs.mpi
          pkgs.makeWrapper
        ];
        buildInputs = [ pkgs.mpi libtorch ];
        # The cmake crate runs CMake (and Ninja) itself; the setup hooks must not build the workspace.
        dontUseCmakeConfigure = true;
        dontUseNinjaBuild = true;
        dontUseNinjaInstall = true;
        dontUseNinjaCheck = true;
        LIBTORCH = "${libtorch}";
        # Keeps xgboost_lib-sys's prebuilt-library download off (as .cargo/config.toml does).
        XGBOOST_LIB_DIR = "${pkgs.emptyDirectory}";
      };

      # Every dependency built once and cached; the workspace builds on top of it.
      cargoArtifacts = craneLib.buildDepsOnly commonArgs;

      harness =
        assert lib.assertMsg (lib.versionAtLeast pkgs.rustc.version rustVersion)
          "nixpkgs' rustc ${pkgs.rustc.version} is older than the workspace's rust-version ${rustVersion}: use nixpkgs >= 25.11";
        craneLib.buildPackage (commonArgs // {
          inherit cargoArtifacts;
          # The tests start mpirun, create cgroups and start servers: `checks` runs those that
          # need none of that, .ci/run the rest.
          doCheck = false;
          # libxgboost.so.3 (its SONAME) goes to $out/lib/harness (the binary's `$ORIGIN/../lib/harness` rpath;
          # build.rs compiles that directory in instead of the build directory's).
          HARNESS_XGBOOST_LIB = "${placeholder "out"}/lib/harness";
          # mpirun starts executors over ssh on --hostfile nodes.
          postInstall = ''
            mkdir -p $out/lib/harness
            cp -L target/release/build/xgboost_lib-sys-*/out/lib/libxgboost.so.3 $out/lib/harness/
            wrapProgram $out/bin/harness --prefix PATH : ${lib.makeBinPath [ pkgs.mpi pkgs.openssh ]}
          '';
          meta.mainProgram = "harness";
        });

      app = name: script: {
        type = "app";
        program = "${pkgs.writeShellScript "harness-${name}" script}";
      };
    in
    {
      packages.${system} = {
        inherit harness libtorch;
        default = harness;
        # The compose cluster's node image built by Nix: `docker load < result`.
        node-image = pkgs.dockerTools.buildLayeredImage {
          name = "harness-node";
          tag = "nix";
          contents = [ harness pkgs.mpi pkgs.openssh pkgs.bashInteractive pkgs.coreutils ];
          config = {
            Cmd = [ "${pkgs.openssh}/bin/sshd" "-D" "-e" ];
            Env = [ "OMPI_ALLOW_RUN_AS_ROOT=1" "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1" ];
          };
        };
      };

      apps.${system} = {
        harness = app "harness" ''exec ${harness}/bin/harness "$@"'';
        profile = app "profile" ''exec ${harness}/bin/harness profile "$@"'';
        server = app "server" ''exec ${harness}/bin/harness server "$@"'';
        default = self.apps.${system}.harness;
      };

      checks.${system} = {
        inherit harness;
        clippy = craneLib.cargoClippy (commonArgs // {
          inherit cargoArtifacts;
          cargoExtraArgs = "--locked --workspace";
          cargoClippyExtraArgs = "--all-targets -- -D warnings";
        });
        fmt = craneLib.cargoFmt { inherit src; };
        # Unit tests that need no root, no mpirun and no servers.
        tests = craneLib.cargoTest (commonArgs // {
          inherit cargoArtifacts;
          cargoExtraArgs = "--locked -p harness-core -p harness-report";
          cargoTestExtraArgs = "--lib";
        });
      };

      devShells.${system}.default = craneLib.devShell {
        inputsFrom = [ harness ];
        packages = [ pkgs.clippy pkgs.rustfmt pkgs.terraform pkgs.checkov pkgs.chromium pkgs.openssh ];
        LIBTORCH = "${libtorch}";
      };
    };
}
