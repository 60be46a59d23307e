// Run by the stack's mongo-init service (mongosh, as the root user) on every start; safe
// to repeat. It initiates the replica set once, waits until this member is the primary,
// and creates — or updates, when .env changed — the user the services connect as.

try {
  rs.status();
  print("replica set already initiated");
} catch (e) {
  if (e.codeName !== "NotYetInitialized") {
    throw e;
  }
  rs.initiate({ _id: "rs0", members: [{ _id: 0, host: "mongo:27017" }] });
  print("replica set rs0 initiated");
}

for (let i = 0; !db.hello().isWritablePrimary; i++) {
  if (i >= 120) {
    print("no primary after 60 s: giving up");
    quit(1);
  }
  sleep(500);
}

const admin = db.getSiblingDB("admin");
const user = process.env.MONGO_APP_USER;
const pwd = process.env.MONGO_APP_PASSWORD;
const dbName = process.env.MONGO_APP_DB;
// readWrite for the projections; dbAdmin for indexes and for `trigger rebuild`, which
// drops the database before deriving it again from the log.
const roles = [
  { role: "readWrite", db: dbName },
  { role: "dbAdmin", db: dbName },
];
if (admin.getUser(user)) {
  admin.updateUser(user, { pwd: pwd, roles: roles });
  print("user " + user + " updated");
} else {
  admin.createUser({ user: user, pwd: pwd, roles: roles });
  print("user " + user + " created");
}
