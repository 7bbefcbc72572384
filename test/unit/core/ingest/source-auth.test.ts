import { describe, expect, it } from 'vitest';
import { authHeaders } from '../../../../lambdas/core/ingest/source-auth.js';

describe('source credentials from the secret value', () => {
  it('bearer and header schemes take the token itself or JSON {token}', () => {
    expect(authHeaders({ secret: 's', scheme: 'bearer' }, ' abc \n')).toEqual({ authorization: 'Bearer abc' });
    expect(authHeaders({ secret: 's', scheme: 'bearer' }, '{"token":"abc"}')).toEqual({ authorization: 'Bearer abc' });
    expect(authHeaders({ secret: 's', scheme: 'header', header: 'DD-API-KEY' }, 'k1')).toEqual({ 'dd-api-key': 'k1' });
  });

  it('basic takes JSON {username, password}', () => {
    expect(authHeaders({ secret: 's', scheme: 'basic' }, '{"username":"AC01","password":"pw"}')).toEqual({
      authorization: `Basic ${Buffer.from('AC01:pw').toString('base64')}`,
    });
  });

  it('names the secret when its value has the wrong shape', () => {
    expect(() => authHeaders({ secret: 'twilio', scheme: 'basic' }, 'just-a-token')).toThrow(
      /secret twilio must be JSON \{"username","password"\}/,
    );
    expect(() => authHeaders({ secret: 'billing', scheme: 'bearer' }, '{"apiKey":"x"}')).toThrow(
      /secret billing must be the token, or JSON \{"token"\}/,
    );
    expect(() => authHeaders({ secret: 'billing', scheme: 'bearer' }, '   ')).toThrow(/secret billing/);
  });
});
