"""TLS for the cluster endpoints: one CA per state dir, and a server certificate for 127.0.0.1 it signs."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_CERT, CA_KEY = "cluster-ca.crt", "cluster-ca.key"
SERVER_CERT, SERVER_KEY = "cluster-server.crt", "cluster-server.key"


class ClusterTls:
    """The CA (created once and kept in the state dir, so a restarted server is still trusted) and a
    server certificate with IP SAN 127.0.0.1 used by every cluster endpoint."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        if not (directory / CA_CERT).exists() or not (directory / CA_KEY).exists():
            self._write_ca()
        self.ca_pem = (directory / CA_CERT).read_bytes()
        self._write_server_certificate()

    @property
    def ca_path(self) -> Path:
        return self.directory / CA_CERT

    def server_context(self) -> ssl.SSLContext:
        """An SSL context for an HTTPS listener presenting the server certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.directory / SERVER_CERT, self.directory / SERVER_KEY)
        return context

    def _write_ca(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
        certificate = (
            _builder(name, name, key.public_key(), days=3650)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write_private(self.directory / CA_KEY, key)
        (self.directory / CA_CERT).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    def _write_server_certificate(self) -> None:
        ca_key = serialization.load_pem_private_key((self.directory / CA_KEY).read_bytes(), password=None)
        ca_cert = x509.load_pem_x509_certificate(self.ca_pem)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")])
        certificate = (
            _builder(subject, ca_cert.subject, key.public_key(), days=365)
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
                x509.DNSName("kubernetes"), x509.DNSName("kubernetes.default.svc")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        _write_private(self.directory / SERVER_KEY, key)
        (self.directory / SERVER_CERT).write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def _builder(subject: x509.Name, issuer: x509.Name, public_key, days: int) -> x509.CertificateBuilder:
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=days)))


def _write_private(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
