-- POST /user/login with one account's correct password.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@acme.com","password":"Secure-pass-123"}'
