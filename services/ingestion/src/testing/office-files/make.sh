#!/bin/bash
# Rebuilds the office-made fixtures from their sources with LibreOffice (see README.md).
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
soffice --headless --convert-to docx --outdir "$out" handbook.fodt facilities.fodt >/dev/null
soffice --headless --convert-to pdf --outdir "$out" handbook.fodt facilities.fodt >/dev/null
soffice --headless --infilter="HTML (StarWriter)" --convert-to docx --outdir "$out" page.html >/dev/null
cp "$out"/handbook.docx "$out"/handbook.pdf "$out"/facilities.docx "$out"/facilities.pdf "$out"/page.docx .
rm -rf "$out"
# A user password (cannot be opened without it), and an owner password only (opens; printing and copying restricted).
qpdf --encrypt quire-secret owner-secret 256 -- facilities.pdf password.pdf
qpdf --encrypt "" owner-secret 256 --print=none --extract=n --modify=none -- facilities.pdf restricted.pdf
