// OpenSSL's libcrypto (Debian's libssl-dev): only the EVP digest API, for the SHA-256 check of
// the default weights (Sources/ModelStore/SHA256.swift).
#include <openssl/evp.h>
