#!/usr/bin/env bash
# The packages as a user gets them. Packs every package into a local folder feed, makes fresh console projects outside
# the repository that reference them from that feed (`dotnet new console`, `dotnet add package`), runs the README's two
# code examples there (tests/packages/*/Program.cs, which the README shows verbatim), installs the `pic` tool with
# --tool-path and runs `pic info` and `pic demo` with it. Both examples must print the answer `pic ask` gives for the
# same text and question: one line, trimmed, no special tokens. Nothing is left behind (all of it lives in a temp dir).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/picsharp-packages.XXXXXX")
trap 'rm -rf "$work"' EXIT
unset PICSHARP_MODELS # the examples must find the bundled models on their own
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# A new version each run, and a package folder of its own (falling back on the user's for third-party packages):
# NuGet never serves an earlier run's PicSharp from a cache.
version="0.1.0-test.$(date +%Y%m%d%H%M%S)"
feed=$work/feed
cat > "$work/nuget.config" <<EOF
<configuration>
  <config><add key="globalPackagesFolder" value="$work/packages" /></config>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <fallbackPackageFolders><add key="user" value="${NUGET_PACKAGES:-$HOME/.nuget/packages}" /></fallbackPackageFolders>
</configuration>
EOF

fail() { echo "package test: $*" >&2; exit 1; }
step() { echo "== $* ($(date +%T))"; }

rid=$(dotnet --info | awk '$1 == "RID:" { print $2; exit }')
step "dotnet pack PicSharp.slnx -c Release (version $version; the tool for $rid only)"
dotnet pack "$repo/PicSharp.slnx" -c Release -o "$feed" -p:PackageVersion="$version" -p:ToolPackageRuntimeIdentifiers="$rid" \
  -v:q -nologo >"$work/pack.log" 2>&1 \
  || { cat "$work/pack.log"; fail "dotnet pack failed"; }
for id in PicSharp PicSharp.Serving PicSharp.Models PicSharp.Cli; do
  [ -f "$feed/$id.$version.nupkg" ] || fail "dotnet pack made no $id.$version.nupkg"
done
[ -f "$feed/PicSharp.$version.snupkg" ] || fail "no symbols package for PicSharp"

# The text and question both examples and `pic ask` answer: a passage like the demo's (facts, test split).
cat > "$work/passage.txt" <<'EOF'
Shifox Shozen owns a goat called Lashol. He was born on June 9, 1996. He works as a surgeon. Shifox Shozen's favourite colour is scarlet. He rarely speaks to the press. He plays the guitar. Shozen's home is in Shivanev. Shozen was born and raised in Shithethosburg. He is employed by Brapul Systems. Not much else is known about Shifox Shozen. Shifox Shozen graduated from the University of Polunen.
EOF
question="Which colour does Shifox Shozen like best?"

cd "$work" # outside the repository: its Directory.Build.* files and models/ folder play no part from here on

step "pic tool: dotnet tool install PicSharp.Cli --tool-path"
dotnet tool install PicSharp.Cli --version "$version" --tool-path "$work/tool" >/dev/null || fail "dotnet tool install failed"
pic=$work/tool/pic
"$pic" info > info.txt || { cat info.txt; fail "pic info failed"; }
grep -q "^bundled models: $work/tool/.*/models (found by the program's folder)$" info.txt || { cat info.txt; fail "pic info did not find the models in the tool's folder"; }
COLUMNS=80 "$pic" demo > demo.txt 2>&1 || { cat demo.txt; fail "pic demo failed"; }
grep -q "from its 16x" demo.txt || { cat demo.txt; fail "pic demo gave no answers from memory"; }
# At 80 columns the table fits and keeps every score on one line with its number.
python3 -c 'import sys; sys.exit(any(len(l.rstrip("\n")) > 80 for l in open("demo.txt", encoding="utf-8")))' \
  || { cat demo.txt; fail "pic demo printed lines wider than 80 columns with COLUMNS=80"; }
if grep -Eq '(EM|F1) *│' demo.txt; then cat demo.txt; fail "pic demo's table splits a score from its number at 80 columns"; fi
"$pic" compress --input passage.txt --out passage.mem >/dev/null || fail "pic compress failed"
expected=$("$pic" ask --memory passage.mem --question "$question" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["answer"])')
[ -n "$expected" ] || fail "pic ask gave an empty answer"
echo "pic ask: $expected"

# Runs one README example in a fresh console project that references PACKAGES from the feed.
example() {
  local name=$1; shift
  step "README example $name in a fresh console project"
  dotnet new console -o "$name" --framework net10.0 >/dev/null || fail "dotnet new console failed"
  for package in "$@"; do
    dotnet add "$name" package "$package" --version "$version" >"$name.add.log" 2>&1 || { cat "$name.add.log"; fail "dotnet add package $package failed"; }
  done
  cp "$repo/tests/packages/$name/Program.cs" "$name/Program.cs"
  dotnet build "$name" -c Release -v:q -nologo >"$name.build.log" 2>&1 || { cat "$name.build.log"; fail "$name did not build"; }
  (cd "$name" && dotnet run -c Release --no-build -- "$work/passage.txt" "$question") > "$name.out" 2>"$name.err" \
    || { cat "$name.out" "$name.err"; fail "$name failed"; }
  local answer
  answer=$(cat "$name.out")
  echo "$name: $answer"
  [ "$(wc -l < "$name.out")" -eq 1 ] || fail "$name printed $(wc -l < "$name.out") lines, not one answer line"
  [ "$answer" = "$expected" ] || fail "$name answered '$answer' where pic ask answers '$expected'"
  case "$answer" in *"<|"*|" "*|*" ") fail "$name's answer is not trimmed plain text: '$answer'";; esac
}
example Library PicSharp PicSharp.Models
example ChatClient PicSharp.Serving PicSharp.Models
step "packages: all checks passed"
