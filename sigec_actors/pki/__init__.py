"""Our own PKI: the CSMS CA, station certificates, ISO 15118 contract chains and OCSP."""
