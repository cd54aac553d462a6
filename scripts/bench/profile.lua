-- GET /user/profile with the access token in the ACCESS_TOKEN environment variable.
wrk.method = "GET"
wrk.path = "/user/profile"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACCESS_TOKEN")
