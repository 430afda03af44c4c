#!/usr/bin/env bash
# Installs every Debian package that building, the demo and the tests need.
# Idempotent: apt-get install -y on packages already present does nothing.
# Runs as root (CI and the set-up machines are root); uses sudo otherwise.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git ca-certificates
  libinih-dev libyaml-dev libssl-dev libcmocka-dev
  libpcsclite-dev pcscd pcsc-tools vsmartcard-vpcd
  libpq-dev postgresql
  libmicrohttpd-dev curl chromium chromium-driver python3-selenium
  zlib1g-dev
  clang libclang-rt-14-dev
  yubico-piv-tool opensc opensc-pkcs11 yubikey-manager
  iproute2 util-linux procps python3 groff-base xxd openssl
  softhsm2 libp11-kit-dev
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep >/dev/null "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q "${missing[@]}"
else
  echo "setup: all ${#PACKAGES[@]} packages present"
fi
