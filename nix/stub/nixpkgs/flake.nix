# Offline stand-in for nixpkgs, for CI only: the attributes flake.nix uses, as trivial derivations
# that record their arguments, so every output of the flake can be evaluated (and a typo in an
# attribute path or a missing output found) where nixpkgs cannot be fetched:
#   nix flake check --no-build --no-write-lock-file \
#     --override-input nixpkgs path:$PWD/nix/stub/nixpkgs --override-input crane path:$PWD/nix/stub/crane
# Nothing here builds anything real.
{
  description = "stub nixpkgs for offline evaluation of scaling harness's flake";
  outputs = { self }: {
    lib = import ./lib.nix;
    legacyPackages.x86_64-linux = import ./default.nix { system = "x86_64-linux"; };
  };
}
