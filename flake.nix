{
  description = "scaling harness: scaling studies of distributed ML training over Open MPI";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAll (pkgs:
        let
          harness = pkgs.rustPlatform.buildRustPackage {
            pname = "harness";
            version = "0.1.0";
            src = ./.;
            cargoLock.lockFile = ./Cargo.lock;
            cargoBuildFlags = [ "-p" "harness" ];
            # LightGBM builds from the sources bundled in lightgbm3-sys (CMake >= 3.28, OpenMP);
            # rsmpi's bindings need libclang (bindgenHook) and Open MPI's headers.
            nativeBuildInputs = [
              pkgs.cmake
              pkgs.pkg-config
              pkgs.rustPlatform.bindgenHook
              pkgs.makeWrapper
              pkgs.openmpi
            ];
            buildInputs = [ pkgs.openmpi pkgs.llvmPackages.openmp ];
            dontUseCmakeConfigure = true;
            # The tests start mpirun and create cgroups: run them in the dev shell.
            doCheck = false;
            postInstall = ''
              wrapProgram $out/bin/harness --prefix PATH : ${pkgs.lib.makeBinPath [ pkgs.openmpi ]}
            '';
            meta.mainProgram = "harness";
          };
        in
        {
          inherit harness;
          default = harness;
        });

      apps = forAll (pkgs:
        let
          harness = self.packages.${pkgs.stdenv.hostPlatform.system}.harness;
          profile = pkgs.writeShellScript "harness-profile" ''
            exec ${harness}/bin/harness profile "$@"
          '';
        in
        {
          harness = { type = "app"; program = "${harness}/bin/harness"; };
          profile = { type = "app"; program = "${profile}"; };
          default = { type = "app"; program = "${harness}/bin/harness"; };
        });

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.stdenv.hostPlatform.system}.harness ];
          packages = [ pkgs.cargo pkgs.rustc pkgs.clippy pkgs.rustfmt pkgs.chromium ];
        };
      });
    };
}
