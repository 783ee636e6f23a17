"""ISO 15118-2 EXI for Plug & Charge: the codec port and its EXIficient-jar adapter, the
CertificateInstallation messages and their xmldsig signatures."""
