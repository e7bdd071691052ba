#!/usr/bin/env bash
# npm run scan:secrets: secretlint (the recommended preset, .secretlintrc.json) over every file git
# knows: tracked files plus untracked ones that are not ignored, so a key is caught before its commit.
# Exits non-zero when a secret is found; the report masks the secret itself.
set -euo pipefail
cd "$(dirname "$0")/.."

files=()
while IFS= read -r -d '' file; do
  # tracked but deleted in the work tree: nothing to scan
  [[ -f "$file" ]] && files+=("$file")
done < <(git ls-files -z --cached --others --exclude-standard)

echo "secretlint: scanning ${#files[@]} files"
# secretlint takes file paths; batch them to stay under the argument-length limit
printf '%s\0' "${files[@]}" | xargs -0 -n 500 node_modules/.bin/secretlint --maskSecrets --secretlintrc .secretlintrc.json
echo "secretlint: no secrets found"
