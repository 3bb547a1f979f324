#!/usr/bin/env bash
# Install LocalStack core (S3 only, no Docker) into its own venv for the end-to-end tests.
#
# Usage: tests/servers/install-localstack.sh [VENV]   (default: <repo>/.venv-localstack)
# PYTHON selects the interpreter (default: python3.11).
#
# Idempotent: the venv records the pins it was built with and is rebuilt from
# scratch only when they change. Every package is pinned, because newer
# releases of three dependencies break localstack-core 4.13.1 on Python 3.11:
#   cbor2 >= 6.0               drops cbor2._decoder, which the AWS protocol parser imports;
#   pyOpenSSL >= 26.2          drops X509.add_extensions, used to make the gateway's self-signed
#                              certificate (so cryptography stays below 48, as pyOpenSSL 26.1 requires);
#   localstack-twisted 26.4.0  imports service_identity unconditionally, which nothing installs.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${1:-$repo/.venv-localstack}"
python="${PYTHON:-python3.11}"

pins=(
    'localstack-core[base-runtime]==4.13.1'
    cbor2==5.9.0
    pyOpenSSL==26.1.0
    cryptography==47.0.0
    localstack-twisted==25.5.0
    annotated-types==0.8.0
    asn1crypto==1.5.1
    attrs==26.1.0
    awscrt==0.38.1
    boto3==1.42.34
    botocore==1.42.34
    cachetools==8.0.1
    certifi==2026.10.18
    cffi==2.1.1
    charset-normalizer==3.5.2
    click==8.5.1
    constantly==23.10.4
    dill==0.3.6
    dnslib==0.9.26
    dnspython==2.9.2
    docker==7.2.0
    h11==0.16.0
    h2==4.4.1
    hpack==4.2.0
    Hypercorn==0.18.0
    hyperframe==6.1.0
    hyperlink==21.0.0
    idna==3.20
    Incremental==24.11.0
    isodate==0.7.2
    jmespath==1.1.0
    jsonpatch==1.47
    jsonpointer==3.12
    jsonschema==4.26.0
    jsonschema-path==0.4.6
    jsonschema-specifications==2025.9.1
    lazy-object-proxy==1.13.0
    markdown-it-py==4.3.0
    MarkupSafe==3.0.4
    mdurl==0.1.2
    more-itertools==11.2.1
    openapi-core==0.23.1
    openapi-schema-validator==0.8.1
    openapi-spec-validator==0.8.5
    packaging==26.3
    pathable==0.5.0
    plux==1.16.0
    priority==1.3.0
    psutil==7.2.2
    pycparser==3.12
    pydantic==2.14.3
    pydantic-settings==2.16.3
    pydantic_core==2.50.4
    Pygments==2.21.0
    python-dateutil==2.9.0.post0
    python-dotenv==1.2.4
    PyYAML==6.0.3
    readerwriterlock==1.0.10
    referencing==0.37.0
    requests==2.34.2
    requests-aws4auth==1.4.0
    rfc3339-validator==0.1.4
    rich==15.0.0
    rolo==0.8.9
    rpds-py==2026.9.1
    s3transfer==0.16.1
    semver==3.1.1
    six==1.17.0
    typing-inspection==0.4.5
    typing_extensions==4.16.0
    urllib3==2.8.0
    Werkzeug==3.1.9
    wsproto==1.3.2
    xmltodict==1.0.4
    zope.interface==8.7
)

stamp="$venv/shiftmedia-pins.txt"
wanted="$(printf '%s\n' "$python" "${pins[@]}")"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    exit 0
fi

rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
"$venv/bin/python" -m pip check >/dev/null
printf '%s\n' "$wanted" >"$stamp"
