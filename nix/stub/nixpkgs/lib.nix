# The part of nixpkgs.lib that flake.nix and the crane stub use, with nixpkgs' semantics.
rec {
  genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
  versionAtLeast = v: min: builtins.compareVersions v min >= 0;
  assertMsg = pred: msg: pred || builtins.throw msg;
  cleanSource = src: builtins.path { path = src; name = "source"; filter = p: t: baseNameOf p != ".git"; };
  makeBinPath = ps: builtins.concatStringsSep ":" (map (p: "${p}/bin") ps);
  getName = x: if builtins.isString x then (builtins.parseDrvName x).name else x.pname or (builtins.parseDrvName x.name).name;
  optionalAttrs = c: a: if c then a else { };
}
