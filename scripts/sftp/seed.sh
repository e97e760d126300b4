#!/bin/bash
# Runs inside the `sftp` container (atmoz/sftp runs /etc/sftp.d/* before sshd starts).
# 1. Seeds the partner's inbox with the sample file, so `docker compose up` shows
#    the whole path from a drop to the API.
# 2. Publishes the server's host key to the shared `sftp-trust` volume: the
#    scheduler verifies the key against it (SFTP_KNOWN_HOSTS), never by trusting
#    whatever answers on the network.
set -euo pipefail

user="${SFTP_SEED_USER:-partner}"
inbox="/home/${user}/inbox"
mkdir -p "${inbox}"
if [ -f /seed/customers-100.csv ] && [ ! -e "${inbox}/processed/customers-100.csv" ]; then
    cp /seed/customers-100.csv "${inbox}/customers-100.csv"
fi
chown -R "$(id -u "${user}"):$(id -g "${user}")" "${inbox}"

mkdir -p /sftp-trust
echo "sftp $(cut -d' ' -f1,2 /etc/ssh/ssh_host_ed25519_key.pub)" > /sftp-trust/known_hosts
chmod 644 /sftp-trust/known_hosts
