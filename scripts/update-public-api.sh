#!/usr/bin/env bash
# Brings each project's PublicAPI.Unshipped.txt in line with the code: adds every public symbol the
# PublicApiAnalyzers report as undeclared (RS0016) and drops every declared one that is gone (RS0017).
# Review the diff: it is the public API change you are about to ship.
#   scripts/update-public-api.sh [src/KavachPolar src/KavachPolar.Testing]
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in "${@:-src/KavachPolar src/KavachPolar.Testing}"; do
  for d in $dir; do
    name=$(basename "$d")
    out=$(dotnet build "$d/$name.csproj" --no-incremental -p:TreatWarningsAsErrors=false 2>&1 || true)
    added=$(echo "$out" | grep -E "warning RS0016" | grep -oE "Symbol '.*' is not part" | sed -E "s/^Symbol '(.*)' is not part$/\1/" | sort -u || true)
    removed=$(echo "$out" | grep -E "warning RS0017" | grep -oE "Symbol '.*' is part of the declared" | sed -E "s/^Symbol '(.*)' is part of the declared$/\1/" | sort -u || true)
    file="$d/PublicAPI.Unshipped.txt"
    { grep -v '^#nullable' "$file" || true; [ -n "$added" ] && echo "$added"; true; } \
      | { if [ -n "$removed" ]; then grep -vxF -f <(echo "$removed"); else cat; fi; } | sed '/^$/d' | sort -u > "$file.tmp"
    { echo '#nullable enable'; cat "$file.tmp"; } > "$file"
    rm "$file.tmp"
    echo "$name: $(echo -n "$added" | grep -c . || true) added, $(echo -n "$removed" | grep -c . || true) removed"
  done
done
