// A real OpenID Connect provider for the verified-patient browser tests (`make e2e`), started
// by e2e/run.py: node-oidc-provider (the npm `oidc-provider` package, a certified OpenID
// provider) on 127.0.0.1, with one confidential client, the MediQueue pages, using the
// authorization-code flow with PKCE. Its development interactions are the login page: any login
// name signs in as that subject (this provider exists only for the tests), then a consent page.
// Its signing key is made at start-up, so nothing secret is kept in the repository.
import crypto from 'node:crypto';
import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (e2e/run.py sets it)`);
  return value;
}

const port = Number(required('E2E_OIDC_PORT'));
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e-rsa-1', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: required('E2E_OIDC_CLIENT_ID'),
      client_secret: required('E2E_OIDC_CLIENT_SECRET'),
      redirect_uris: [required('E2E_OIDC_REDIRECT_URI')],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      // mozilla-django-oidc sends the client's credentials in the token request's body.
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub }; } };
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider: ${issuer}`);
});
