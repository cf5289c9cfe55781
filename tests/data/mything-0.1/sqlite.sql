PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE users (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	name VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT uq_users_name UNIQUE (name)
);
INSERT INTO users VALUES(1,'alice','2026-12-01 21:40:15.455229');
INSERT INTO users VALUES(2,'bob','2026-12-01 21:40:15.456857');
CREATE TABLE organizations (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	slug VARCHAR(63) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT uq_organizations_slug UNIQUE (slug)
);
INSERT INTO organizations VALUES(1,'acme','Acme <&> ''Co''','2026-12-01 21:40:15.467003');
CREATE TABLE settings (
	name VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	CONSTRAINT pk_settings PRIMARY KEY (name)
);
INSERT INTO settings VALUES('cursor_secret','Xx0ujUJN0h3a_p6RSQKLrwoc6eMmK2JeOTcNQypKj0I');
CREATE TABLE tokens (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	user_id INTEGER NOT NULL, 
	token_hash VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT fk_tokens_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, 
	CONSTRAINT uq_tokens_token_hash UNIQUE (token_hash)
);
INSERT INTO tokens VALUES(1,1,'05e771f274820eb066975c8f4f07b31d8573a01a2fb04b974bb92c487b468e34','2026-12-01 21:40:15.464625');
INSERT INTO tokens VALUES(2,2,'94f2f576311542d1658d0e3a1ffe1ebceaec55215e1be7a2a082a8b938dbf665','2026-12-01 21:40:15.466303');
CREATE TABLE memberships (
	org_id INTEGER NOT NULL, 
	user_id INTEGER NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_memberships PRIMARY KEY (org_id, user_id), 
	CONSTRAINT fk_memberships_org_id_organizations FOREIGN KEY(org_id) REFERENCES organizations (id) ON DELETE CASCADE, 
	CONSTRAINT fk_memberships_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO memberships VALUES(1,1,'owner','2026-12-01 21:40:15.467003');
INSERT INTO memberships VALUES(1,2,'member','2026-12-01 21:40:15.486777');
CREATE TABLE notes (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	org_id INTEGER NOT NULL, 
	author_id INTEGER NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	body TEXT NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	CONSTRAINT fk_notes_org_id_organizations FOREIGN KEY(org_id) REFERENCES organizations (id) ON DELETE CASCADE, 
	CONSTRAINT fk_notes_author_id_users FOREIGN KEY(author_id) REFERENCES users (id)
);
INSERT INTO notes VALUES(1,1,1,'note 0','body ✓ body ✓ body ✓ ','2026-12-01 21:40:15.496456','2026-12-01 21:40:15.496456');
INSERT INTO notes VALUES(2,1,1,'note 1','body ✓ body ✓ body ✓ ','2026-12-01 21:40:15.518248','2026-12-01 21:40:15.518248');
INSERT INTO notes VALUES(3,1,1,'note 2','body ✓ body ✓ body ✓ ','2026-12-01 21:40:15.530335','2026-12-01 21:40:15.530335');
INSERT INTO notes VALUES(4,1,1,'once','','2026-12-01 21:40:15.544627','2026-12-01 21:40:15.544627');
CREATE TABLE idempotency_keys (
	user_id INTEGER NOT NULL, 
	"key" VARCHAR(255) NOT NULL, 
	fingerprint VARCHAR(64) NOT NULL, 
	status INTEGER, 
	body TEXT, 
	headers TEXT, 
	created_at DATETIME NOT NULL, 
	CONSTRAINT pk_idempotency_keys PRIMARY KEY (user_id, "key"), 
	CONSTRAINT fk_idempotency_keys_user_id_users FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
INSERT INTO idempotency_keys VALUES(1,'key-1','bef6b054c37d38c5c063049a0cc9598acfca625afd12e9aebf5f486d29e62454',201,'{"id":4,"title":"once","body":"","tags":["retry"],"author":"alice","created_at":"2026-12-01T21:40:15.544627Z","updated_at":"2026-12-01T21:40:15.544627Z"}','{"Location":"http://localhost/orgs/acme/notes/4"}','2026-12-01 21:40:15.543408');
CREATE TABLE note_tags (
	note_id INTEGER NOT NULL, 
	tag VARCHAR(50) NOT NULL, 
	position INTEGER NOT NULL, 
	CONSTRAINT pk_note_tags PRIMARY KEY (note_id, tag), 
	CONSTRAINT fk_note_tags_note_id_notes FOREIGN KEY(note_id) REFERENCES notes (id) ON DELETE CASCADE
);
INSERT INTO note_tags VALUES(1,'t0',0);
INSERT INTO note_tags VALUES(1,'shared',1);
INSERT INTO note_tags VALUES(2,'t1',0);
INSERT INTO note_tags VALUES(2,'shared',1);
INSERT INTO note_tags VALUES(3,'t2',0);
INSERT INTO note_tags VALUES(3,'shared',1);
INSERT INTO note_tags VALUES(4,'retry',0);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('users',2);
INSERT INTO sqlite_sequence VALUES('tokens',2);
INSERT INTO sqlite_sequence VALUES('organizations',1);
INSERT INTO sqlite_sequence VALUES('notes',4);
CREATE INDEX ix_memberships_user_id ON memberships (user_id);
CREATE INDEX ix_notes_org_id_id ON notes (org_id, id);
CREATE INDEX ix_note_tags_tag_note_id ON note_tags (tag, note_id);
COMMIT;
