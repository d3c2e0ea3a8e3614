# libtorch 2.13 (CPU) for tch 0.26, assembled from PyPI wheels as .ci/install does: PyPI's Linux
# torch wheel is a CUDA build and no CPU-only wheel is on PyPI, so this takes the wheel's headers,
# libtorch_cpu, libc10 and libgomp, the two small CUDA runtime libraries libtorch_cpu needs at
# load time (libcudart, libcupti), and an empty stub libtorch.so in place of the one that would
# pull in libtorch_cuda. nixpkgs' own libtorch is older than 2.13, which tch 0.26 requires.
{ stdenv, python3Packages, unzip }:
let
  # Wheels from PyPI (`pip download` of the same versions gives the same files), pinned by hash.
  wheel = pname: version: python: platform: sha256:
    python3Packages.fetchPypi {
      inherit pname version python platform sha256;
      format = "wheel";
      dist = python;
      abi = if python == "py3" then "none" else python;
    };
  torch = wheel "torch" "2.13.0" "cp311" "manylinux_2_28_x86_64"
    "60fcdcb2f3876e21146cb4524ef06397d727ca9ad5f020818547e25075fe3cb7";
  cudart = wheel "nvidia_cuda_runtime" "13.0.96" "py3" "manylinux2014_x86_64.manylinux_2_17_x86_64"
    "7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548";
  cupti = wheel "nvidia_cuda_cupti" "13.0.85" "py3" "manylinux_2_25_x86_64"
    "4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8";
in
stdenv.mkDerivation {
  pname = "libtorch-cpu-from-wheel";
  version = "2.13.0";
  srcs = [ torch cudart cupti ];
  nativeBuildInputs = [ unzip ];
  dontUnpack = true;
  dontStrip = true;
  installPhase = ''
    runHook preInstall
    mkdir -p $out/lib wheel
    unzip -q ${torch} 'torch/include/*' 'torch/lib/libtorch_cpu.so' 'torch/lib/libc10.so' 'torch/lib/libgomp.so.1' -d wheel
    unzip -q ${cudart} 'nvidia/cu13/lib/libcudart.so.13' -d wheel
    unzip -q ${cupti} 'nvidia/cu13/lib/libcupti.so.13' -d wheel
    mv wheel/torch/include $out/include
    mv wheel/torch/lib/* wheel/nvidia/cu13/lib/* $out/lib/
    $CC -shared -o $out/lib/libtorch.so -x c /dev/null
    echo ${"2.13.0"} > $out/build-version
    runHook postInstall
  '';
}
