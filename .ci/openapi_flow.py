"""A client flow through the Python client generated from /openapi.json (called by .ci/openapi).

Register, log in, create a tontine, plan and open its first session, record a cash payment and
find it in the payment list, every call through the generated `kobiri_api_client` package, so
a document that generates a broken client fails CI.

    python .ci/openapi_flow.py --base-url http://127.0.0.1:8000 --client-dir <generated dir>
"""

import argparse
import datetime
import sys
import uuid


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--client-dir", required=True, help="the directory holding kobiri_api_client")
    args = parser.parse_args()
    sys.path.insert(0, args.client_dir)

    from kobiri_api_client import AuthenticatedClient, Client
    from kobiri_api_client.api.auth import auth_login, auth_me, auth_register
    from kobiri_api_client.api.payments import payments_create, payments_get_one, payments_list
    from kobiri_api_client.api.sessions import sessions_generate, sessions_open
    from kobiri_api_client.api.tontines import tontines_create
    from kobiri_api_client.models import (
        CreatePaymentRequest,
        CreateTontineRequest,
        ErrorBody,
        GenerateSessionsRequest,
        LoginRequest,
        OpenRequest,
        PagePaymentResponse,
        PaymentResponse,
        RegisterRequest,
        SessionResponse,
        TokenPair,
        TontineResponse,
        UserResponse,
    )

    def expect(step, response, status, model):
        parsed = response.parsed
        if response.status_code != status or not isinstance(parsed, model):
            detail = parsed.detail if isinstance(parsed, ErrorBody) else response.content[:500]
            raise SystemExit(f"openapi client: {step}: HTTP {response.status_code} ({detail!r}), expected {status}")
        print(f"openapi client: {step}: {status}")
        return parsed

    anonymous = Client(base_url=args.base_url, raise_on_unexpected_status=True)
    tag = uuid.uuid4().hex[:8]
    email = f"awa.{tag}@example.sn"
    phone = "+22177" + str(uuid.uuid4().int % 10**7).zfill(7)
    password = "Tontine2026"

    user = expect(
        "register",
        auth_register.sync_detailed(
            client=anonymous,
            body=RegisterRequest(
                email=email,
                phone=phone,
                password=password,
                confirm_password=password,
                first_name="Awa",
                last_name="Diop",
            ),
        ),
        201,
        UserResponse,
    )
    tokens = expect(
        "log in",
        auth_login.sync_detailed(client=anonymous, body=LoginRequest(email=email, password=password)),
        200,
        TokenPair,
    )
    client = AuthenticatedClient(
        base_url=args.base_url, token=tokens.access_token, raise_on_unexpected_status=True
    )
    me = expect("me", auth_me.sync_detailed(client=client), 200, UserResponse)
    assert me.id == user.id, (me.id, user.id)

    tontine = expect(
        "create a tontine",
        tontines_create.sync_detailed(
            client=client,
            body=CreateTontineRequest(
                name=f"Tontine du marché {tag}",
                type_="rotative",
                frequency="mensuel",
                contribution_amount="5000",
                start_date=datetime.date.today(),
            ),
        ),
        201,
        TontineResponse,
    )
    sessions = sessions_generate.sync_detailed(
        tontine.id, client=client, body=GenerateSessionsRequest(count=1)
    )
    if sessions.status_code != 201 or not isinstance(sessions.parsed, list) or len(sessions.parsed) != 1:
        raise SystemExit(f"openapi client: plan a session: HTTP {sessions.status_code} {sessions.content[:500]!r}")
    print("openapi client: plan a session: 201")
    session = expect(
        "open the session",
        sessions_open.sync_detailed(sessions.parsed[0].id, client=client, body=OpenRequest()),
        200,
        SessionResponse,
    )

    payment = expect(
        "record a payment",
        payments_create.sync_detailed(
            client=client,
            body=CreatePaymentRequest(
                tontine_id=tontine.id,
                session_id=session.id,
                amount="5000",
                method="especes",
                notes="Payé au marché",
            ),
        ),
        201,
        PaymentResponse,
    )
    assert payment.amount == "5000", payment.amount
    assert payment.status == "en_attente", payment.status

    page = expect(
        "list the tontine's payments",
        payments_list.sync_detailed(client=client, tontine_id=tontine.id),
        200,
        PagePaymentResponse,
    )
    ids = [item.id for item in page.items]
    assert payment.id in ids, (payment.id, ids)
    again = expect(
        "read the payment", payments_get_one.sync_detailed(payment.id, client=client), 200, PaymentResponse
    )
    assert again.session_id == session.id, (again.session_id, session.id)
    print("openapi client: register, log in, create a tontine, record and list a payment: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
