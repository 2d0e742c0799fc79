//! Fixture keys for the OAuth tests: two RSA 2048 keys (`RS1`, `RS2`) and
//! two EC P-256 keys (`ES1`, `ES2`), each as a PKCS#8 private key PEM, the
//! SPKI public key PEM and the public JWK (`kid` "rs-1", "rs-2", "es-1",
//! "es-2"; `n`/`e` and `x`/`y` are base64url without padding).
//!
//! TEST FIXTURES ONLY: these private keys are public, never use them for
//! anything else. Generated with OpenSSL 3.0:
//!
//! ```sh
//! openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rs1.pem
//! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out es1.pem
//! openssl pkey -in rs1.pem -pubout -out rs1.pub.pem
//! ```
//!
//! The JWK members were taken from `openssl rsa -noout -modulus` / `-text`
//! (RSA) and the last 65 bytes (`04 || x || y`) of
//! `openssl pkey -pubout -outform DER` (EC), and checked against the keys.
#![allow(dead_code)]

// ---- RS1: RSA 2048, kid "rs-1" ----

/// `rs-1` private key (PKCS#8 PEM).
pub(crate) const RS1_PRIVATE_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQC8eUTJ2H12a4QB
78b3P/a+jtcPJS99LPD2yGyfXBtfZatBO9QnDQqwWpgGtI2cIMOcbph0FHHduzSc
RtOKUgYoQe3UKJ4Uxt5ctNkrsezvXxG9qTHrISweBsuNPUTtTHVOTb71yNic9YN5
q4oXo5lN/wSZuseXJ5K7X7HwpZ3OctCM0xChaprxA/sAmo+w1HNb3BAJoXYPhy1h
XzyQgFcY0TSaF+g338NnwI8VzYjMjPvfww2MfdXvwgiJ0VK4zR2h64RHCwY510lH
SvF5HrPs132kRMb0LVpZHs7KL/3u9/dEuJUN7AA3ELTypToJraQsgXVMwHjLxrGc
hDNbMwejAgMBAAECggEAGnzmlIGG/G4W0tjaeyQzrstPYTMGLg7zXJOFZI4i0LDu
tQ/N/KECGA/bXtHgNwmJxEHszh+Tcyict7vifgWSFPVTEeaVdPEQDjJidRgf5vJT
AXc2a0exthSZZeOu/LSqpdMaW9uaydBdZmub0D+vS31kLaDI7S7kGc5UqS/1ci6F
6nu4RSpjUyMHUJWwDHjkgoqdcNV/7VlilKplryyXWjHvNRGKL7tilbATsSKWyeu1
RGbRJUMECPS+g59eegEzuWJStYwlMDSX6CJGCXqMDDLGe4MavRXj6ZTtoZzowI01
l+nS3VfE0tmNCTDfoLklUu1UwYzRqxFbAZ1edrDlaQKBgQDhfvELCWRa3T5gVgt6
YX2q0sYcPrhyfjY7S8XVrh0B7rLyICGlDvusLNo+BMmpy+sdLo+uvjBVMtpd2USP
0soXvVItCARCtGCBRTesDiX18HulmBFWCKjQRCUtlCd/5bislg/md04oXYs9neip
uBYW+1aboMFgk0IS36PL6bXgqQKBgQDV+DoxQxEI55xYQynvkxpxOKjGy4Jq7Nkn
ZH6ASVEZTSivbiR6L111vidxNGrWYs1VxitPBDgmCCLz9ZSVKpblhicFHhD8S6TV
W2MwaYYlLe9X9pah2MDBhMEsZ3NPUJw+9qma+YwCKc8RnF17+HY1/Db9x7EDoNfy
DV9d1rS5awKBgQDgUbKiQw6VIaCKny496TvlMlYoBPDh3NJAPImqntF2eamEGhi+
JWCRj/DvXz3p7tSOLCJ9N+/G4Za/Y4LD/HJUGV7lMyNh5CRYlK3kOBLlTP0D53nf
dy/QNuoxJEADCFilP4bDwo16tEvu2OZ554n6BL/Mg6e7VeKV+ens0SrAOQKBgQDB
uWS2hUo/DbP4FZc6Wa1vJSVqF4eU16wkhlAiRj8u8TUM4GQWXBv6Jpf/Xr38LKhM
KIe9msxbYrKCvq4v/8dvN+7MK1SlmLc8lOlRQ7k4oEY7Ff97uYuLqm5bja5Q+WL9
fsZAkf+5VbEs+K2LOIGOjzQawVn7Nv1NId5eT66A0QKBgF5l4A8OlWfFBNlQtqi7
gPqWLwaGTiVfbGRYtEOcWcKKKKfI9XoB+VtdlM+YhDJ72WIrT3YU16MPdNR6zWJU
9hPHtBlez+CF7qq5NHQ/lFfT/hV9VOZBGjihVZnl8PMy0tRj6VuccuM68zwZG+zD
A7m0VT4Xk1Jwoks2y36p4A7b
-----END PRIVATE KEY-----
";

/// `rs-1` public key (SPKI PEM).
pub(crate) const RS1_PUBLIC_PEM: &str = "\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvHlEydh9dmuEAe/G9z/2
vo7XDyUvfSzw9shsn1wbX2WrQTvUJw0KsFqYBrSNnCDDnG6YdBRx3bs0nEbTilIG
KEHt1CieFMbeXLTZK7Hs718Rvakx6yEsHgbLjT1E7Ux1Tk2+9cjYnPWDeauKF6OZ
Tf8EmbrHlyeSu1+x8KWdznLQjNMQoWqa8QP7AJqPsNRzW9wQCaF2D4ctYV88kIBX
GNE0mhfoN9/DZ8CPFc2IzIz738MNjH3V78IIidFSuM0doeuERwsGOddJR0rxeR6z
7Nd9pETG9C1aWR7Oyi/97vf3RLiVDewANxC08qU6Ca2kLIF1TMB4y8axnIQzWzMH
owIDAQAB
-----END PUBLIC KEY-----
";

/// `rs-1` public JWK.
pub(crate) const RS1_JWK: &str = r#"{"kty":"RSA","kid":"rs-1","use":"sig","alg":"RS256","n":"vHlEydh9dmuEAe_G9z_2vo7XDyUvfSzw9shsn1wbX2WrQTvUJw0KsFqYBrSNnCDDnG6YdBRx3bs0nEbTilIGKEHt1CieFMbeXLTZK7Hs718Rvakx6yEsHgbLjT1E7Ux1Tk2-9cjYnPWDeauKF6OZTf8EmbrHlyeSu1-x8KWdznLQjNMQoWqa8QP7AJqPsNRzW9wQCaF2D4ctYV88kIBXGNE0mhfoN9_DZ8CPFc2IzIz738MNjH3V78IIidFSuM0doeuERwsGOddJR0rxeR6z7Nd9pETG9C1aWR7Oyi_97vf3RLiVDewANxC08qU6Ca2kLIF1TMB4y8axnIQzWzMHow","e":"AQAB"}"#;

// ---- RS2: RSA 2048, kid "rs-2" ----

/// `rs-2` private key (PKCS#8 PEM).
pub(crate) const RS2_PRIVATE_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCGoQhfiHw+Lp/r
dUHPEs16creb+IqGUi97S/7FM+/EkT4kBZwPrgoZolRc77eVQp+Z8ryckZ+jS7gJ
TpkNsRZOtTBl1cl8JOZCP85he2q8PDGsarlAnBgCP+W/Zsui9P4h4V/mqIACCIaI
dTMiOipL3sGL9i7qs1tElXhHn/o/jEvHQEBfPrBJlixozyygIHXeYCD4t0odIo2j
qSgLenc7I1ow4CvTQRxh64lKN1YiYH+pHi5wu8d38lmo55JUl02/dZzv7x484x0f
bnqS7ZikV60yRNQoTxIymoOQyuFveH7dqwKzIKTVHfJIqIImxTZCYMMWIxvOn/bJ
wWSl2SntAgMBAAECggEAB5ma8xGtuduV9DaCsuGOhKVp5L3WIW5i9ySQyv8l6kSC
FonT3TVnpToluw1eoWgebGlok7TLfJjEreR9qBPhfNX7rR6xfiGdzLWfZ/S4pMxd
HYJKLPHi5RWdrv1q7NXEbD3gf7vuu1lR3ELe0nAoJ8T5IMvoACCEkXhCpFXNTGhW
fls2mxHYKOhR5T4oTUcX6IR0vxwa1O3/cDamfj7dC1Hgm5n/rv+deGnozwunn1dW
QAEk2RrZt217UHl3rsvLJj+Sjpj/HYLxYK1mt6FDVzUKNOID8Ry2yWsjYSno1gQS
6Ky1z2CCSnMCjokpQmCBT0fuVEmz5QSDVjyJWsZBoQKBgQC9o+jC9ZtrnMHMuI6t
DjDrSOVl0oOyMmT7MVG2g1toM2PNg4si3ALa/wk0zzqaL1E9bLOVAqKdywwBkyvZ
RS7QngjCppzhatolUaSZgoE2QmEENzNP04rEgpYfBEsl3xNYAN/DvNpANsZRGo1r
Dalq+CctQqSjNyZbTu1M70gOaQKBgQC1vS73kbGfORQdzG8TRa2V0gvcmcSndeGY
77exCYnIvPQS5/fJNsRYxbcLXfZYVNXmpM4W6QiFqbnkcHatlB12L2A0ETYqAqEX
G0GyxS+ty9RJlrJW1nxksolUxkHTayayVOukWa/M99ZZXRYBy3bsT5sELX3zdLvZ
VbPOgYVW5QKBgQC2Weg1n8oFHkTUQBshmOW9OOkskdKFBSRIzlHOeFzqw4+STIz7
xicQwe/uUd396MXrlJzSCiioJlizIvsk/vtXKr8tvNxZfU+qVuk5m133+LglP5cd
iUKEVzVXOd+w2OJW2vBP3UbYPFNSJYAakpZ3/4pcYRrCvwMpBan1MplNEQKBgB5t
GdvgzHf3umJyw3XaiIE4tTutkrrmhWpxV7OQAT1WRRaVN2q8fIrQLyD8Di4jpdwD
Y216fi7Ch5izK2tMDNKog9azuvm1jvqrWYhwctcJ9PSNAjZ/mjvRmCRVPNgEbGoW
xYyyZzhNldlIOFL8mWBew3kjlJ6ZwIlWS9Aa5xPxAoGBAJNptSvy2s/Txs0Qspyx
PiLFJqV4Qz9DYlDHhVFMmcakoVfDXl/GfUeatiQBw1w7vNv4HuFCgq24ocanUrxC
+cuWjqwfsGdYXlkGtOeO3UlAN+8bFX/kAYaJaKdJICSkakj8ywMoWtFIIT7MrmY1
fBj6j4GNDp5oLI7Zl+pco1Mu
-----END PRIVATE KEY-----
";

/// `rs-2` public key (SPKI PEM).
pub(crate) const RS2_PUBLIC_PEM: &str = "\
-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAhqEIX4h8Pi6f63VBzxLN
enK3m/iKhlIve0v+xTPvxJE+JAWcD64KGaJUXO+3lUKfmfK8nJGfo0u4CU6ZDbEW
TrUwZdXJfCTmQj/OYXtqvDwxrGq5QJwYAj/lv2bLovT+IeFf5qiAAgiGiHUzIjoq
S97Bi/Yu6rNbRJV4R5/6P4xLx0BAXz6wSZYsaM8soCB13mAg+LdKHSKNo6koC3p3
OyNaMOAr00EcYeuJSjdWImB/qR4ucLvHd/JZqOeSVJdNv3Wc7+8ePOMdH256ku2Y
pFetMkTUKE8SMpqDkMrhb3h+3asCsyCk1R3ySKiCJsU2QmDDFiMbzp/2ycFkpdkp
7QIDAQAB
-----END PUBLIC KEY-----
";

/// `rs-2` public JWK.
pub(crate) const RS2_JWK: &str = r#"{"kty":"RSA","kid":"rs-2","use":"sig","alg":"RS256","n":"hqEIX4h8Pi6f63VBzxLNenK3m_iKhlIve0v-xTPvxJE-JAWcD64KGaJUXO-3lUKfmfK8nJGfo0u4CU6ZDbEWTrUwZdXJfCTmQj_OYXtqvDwxrGq5QJwYAj_lv2bLovT-IeFf5qiAAgiGiHUzIjoqS97Bi_Yu6rNbRJV4R5_6P4xLx0BAXz6wSZYsaM8soCB13mAg-LdKHSKNo6koC3p3OyNaMOAr00EcYeuJSjdWImB_qR4ucLvHd_JZqOeSVJdNv3Wc7-8ePOMdH256ku2YpFetMkTUKE8SMpqDkMrhb3h-3asCsyCk1R3ySKiCJsU2QmDDFiMbzp_2ycFkpdkp7Q","e":"AQAB"}"#;

// ---- ES1: EC P-256, kid "es-1" ----

/// `es-1` private key (PKCS#8 PEM).
pub(crate) const ES1_PRIVATE_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmCsCCiyE3gMbOa1t
L/wy55uBhRg8gCJahaij4lPItI6hRANCAARgkau1g9xSxGgIthe6XGscGmS8JJRv
bj9mnXFuHIpiyRExtV03wXyYAGtCudZ/2WkPMxl1wmfvkbJa9KvSVqDU
-----END PRIVATE KEY-----
";

/// `es-1` public key (SPKI PEM).
pub(crate) const ES1_PUBLIC_PEM: &str = "\
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYJGrtYPcUsRoCLYXulxrHBpkvCSU
b24/Zp1xbhyKYskRMbVdN8F8mABrQrnWf9lpDzMZdcJn75GyWvSr0lag1A==
-----END PUBLIC KEY-----
";

/// `es-1` public JWK.
pub(crate) const ES1_JWK: &str = r#"{"kty":"EC","kid":"es-1","use":"sig","alg":"ES256","crv":"P-256","x":"YJGrtYPcUsRoCLYXulxrHBpkvCSUb24_Zp1xbhyKYsk","y":"ETG1XTfBfJgAa0K51n_ZaQ8zGXXCZ--Rslr0q9JWoNQ"}"#;

// ---- ES2: EC P-256, kid "es-2" ----

/// `es-2` private key (PKCS#8 PEM).
pub(crate) const ES2_PRIVATE_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgYr4J8pH5NzfOdZPU
tLUO8ou4zOCbhuvrPrewaWStQNyhRANCAAQHwAgdwIHEBjbbazFdeAxbmmnCC6a+
sG0wbkVg2pAj11Ko/qEXPcHdIMD5OR0wU9ssGugyzNMp8h/oKamk6h1y
-----END PRIVATE KEY-----
";

/// `es-2` public key (SPKI PEM).
pub(crate) const ES2_PUBLIC_PEM: &str = "\
-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEB8AIHcCBxAY222sxXXgMW5ppwgum
vrBtMG5FYNqQI9dSqP6hFz3B3SDA+TkdMFPbLBroMszTKfIf6CmppOodcg==
-----END PUBLIC KEY-----
";

/// `es-2` public JWK.
pub(crate) const ES2_JWK: &str = r#"{"kty":"EC","kid":"es-2","use":"sig","alg":"ES256","crv":"P-256","x":"B8AIHcCBxAY222sxXXgMW5ppwgumvrBtMG5FYNqQI9c","y":"Uqj-oRc9wd0gwPk5HTBT2ywa6DLM0ynyH-gpqaTqHXI"}"#;
