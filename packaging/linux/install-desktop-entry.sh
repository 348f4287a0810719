#!/bin/sh
# Add VisitDesk to this user's application menu: installs the desktop entry, with the path of this
# bundle, and the icon under ~/.local/share. Run it from the unpacked bundle; run it again after
# moving the bundle. Nothing outside the user's home directory is changed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/icons/hicolor/256x256/apps"
cp "$here/visitdesk.png" "$data/icons/hicolor/256x256/apps/visitdesk.png"
sed "s|^Exec=.*|Exec=\"$here/visitdesk\"|" "$here/visitdesk.desktop" > "$data/applications/visitdesk.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$data/applications" || true
echo "VisitDesk added to the application menu ($data/applications/visitdesk.desktop)"
