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
      # lib_lightgbm.so (LightGBM 4.7.0) and libxgboost.so (XGBoost 3.2.0) from PyPI's wheels,
      # linked by vendor/lightgbm3-sys and xgboost_lib-sys: no C++ is compiled for them.
      nativeLibs = pkgs.callPackage ./nix/native-libs.nix { };

      src = lib.cleanSource ./.;

      commonArgs = {
        inherit src;
        pname = "harness";
        version = "0.1.0";
        strictDeps = true;
        cargoExtraArgs = "--locked -p harness";
        # bindgen (libclang) makes the LightGBM, XGBoost and rsmpi bindings (Open MPI's headers);
        # LIBTORCH is what tch 0.26 links (libtorch 2.13); LightGBM and XGBoost are prebuilt.
        nativeBuildInputs = [
          pkgs.pkg-config
          pkgs.rustPlatform.bindgenHook
          pkgs.mpi
          pkgs.makeWrapper
        ];
        buildInputs = [ pkgs.mpi libtorch nativeLibs ];
        LIBTORCH = "${libtorch}";
        # As .cargo/config.toml's [env] (which these win over): the libraries' directory, which
        # the harness binary also keeps as rpath and ships to compose and cloud nodes.
        LIGHTGBM_LIB_DIR = "${nativeLibs}/lib";
        XGBOOST_LIB_DIR = "${nativeLibs}/lib";
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
          # mpirun starts executors over ssh on --hostfile nodes.
          postInstall = ''
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
        inherit harness libtorch nativeLibs;
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
