# LightGBM's and XGBoost's shared libraries from PyPI's wheels, as .ci/install lays them out in
# /opt/harness-tools/lib: lib_lightgbm.so of lightgbm 4.7.0 (the library of the C API header
# vendor/lightgbm3-sys binds) and libxgboost.so of xgboost-cpu 3.2.0 (which exports every
# function the `xgb` crate's bindings declare). XGBoost's wheel links a libgomp copy of its own;
# it is pointed at the toolchain's libgomp.so.1, so a process has one OpenMP runtime. Nothing is
# compiled.
{ stdenv, python3Packages, unzip, patchelf, autoPatchelfHook }:
let
  # Wheels from PyPI (`pip download` of the same versions gives the same files), pinned by hash.
  wheel = pname: version: platform: sha256:
    python3Packages.fetchPypi {
      inherit pname version platform sha256;
      format = "wheel";
      dist = "py3";
      python = "py3";
      abi = "none";
    };
  lightgbm = wheel "lightgbm" "4.7.0" "manylinux_2_27_x86_64.manylinux_2_28_x86_64"
    "d23e922acd891e77212e4d0fbcee9ba973c96dee479491341d05ba595357ebb7";
  xgboost = wheel "xgboost_cpu" "3.2.0" "manylinux_2_28_x86_64"
    "9c10b1653e1a689bf4094a328144cf3633c9be0e5217a76fbdc2fde6abcb2950";
in
stdenv.mkDerivation {
  pname = "harness-native-libs";
  version = "lightgbm-4.7.0-xgboost-3.2.0";
  srcs = [ lightgbm xgboost ];
  nativeBuildInputs = [ unzip patchelf autoPatchelfHook ];
  # libstdc++ and libgomp for autoPatchelfHook to find.
  buildInputs = [ stdenv.cc.cc.lib ];
  dontUnpack = true;
  installPhase = ''
    runHook preInstall
    mkdir -p $out/lib wheel
    unzip -q ${lightgbm} 'lightgbm/lib/lib_lightgbm.so' -d wheel
    unzip -q ${xgboost} 'xgboost/lib/libxgboost.so' -d wheel
    mv wheel/lightgbm/lib/lib_lightgbm.so wheel/xgboost/lib/libxgboost.so $out/lib/
    gomp=$(patchelf --print-needed $out/lib/libxgboost.so | grep '^libgomp' || true)
    if [ -n "$gomp" ] && [ "$gomp" != libgomp.so.1 ]; then
      patchelf --replace-needed "$gomp" libgomp.so.1 $out/lib/libxgboost.so
    fi
    patchelf --remove-rpath $out/lib/libxgboost.so
    echo "lightgbm 4.7.0, xgboost-cpu 3.2.0" > $out/lib/build-version
    runHook postInstall
  '';
}
