GET
/app.js