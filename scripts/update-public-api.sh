#!/usr/bin/env bash
# Adds every public symbol the PublicApiAnalyzers report as undeclared (RS0016) to the project's
# PublicAPI.Unshipped.txt. Review the diff: it is the public API change you are about to ship.
#   scripts/update-public-api.sh [src/KavachPolar src/KavachPolar.Testing]
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in "${@:-src/KavachPolar src/KavachPolar.Testing}"; do
  for d in $dir; do
    name=$(basename "$d")
    added=$(dotnet build "$d/$name.csproj" --no-incremental -p:TreatWarningsAsErrors=false 2>&1 \
      | grep -E "warning RS0016" | grep -oE "Symbol '.*' is not part" | sed -E "s/^Symbol '(.*)' is not part$/\1/" | sort -u || true)
    if [ -n "$added" ]; then
      { grep -v '^#nullable' "$d/PublicAPI.Unshipped.txt" || true; echo "$added"; } | sort -u > "$d/PublicAPI.Unshipped.tmp"
      { echo '#nullable enable'; cat "$d/PublicAPI.Unshipped.tmp"; } > "$d/PublicAPI.Unshipped.txt"
      rm "$d/PublicAPI.Unshipped.tmp"
      echo "$name: $(echo "$added" | wc -l) symbol(s) added"
    else
      echo "$name: nothing to add"
    fi
  done
done
