--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: legacy01; Type: SCHEMA; Schema: -; Owner: -
--



SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: idempotency_keys; Type: TABLE; Schema: legacy01; Owner: -
--

CREATE TABLE legacy01.idempotency_keys (
    user_id bigint NOT NULL,
    key character varying(255) NOT NULL,
    fingerprint character varying(64) NOT NULL,
    status integer,
    body text,
    headers text,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: memberships; Type: TABLE; Schema: legacy01; Owner: -
--

CREATE TABLE legacy01.memberships (
    org_id bigint NOT NULL,
    user_id bigint NOT NULL,
    role character varying(16) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: note_tags; Type: TABLE; Schema: legacy01; Owner: -
--

CREATE TABLE legacy01.note_tags (
    note_id bigint NOT NULL,
    tag character varying(50) NOT NULL,
    "position" integer NOT NULL
);


--
-- Name: notes; Type: TABLE; Schema: legacy01; Owner: -
--

CREATE TABLE legacy01.notes (
    id bigint NOT NULL,
    org_id bigint NOT NULL,
    author_id bigint NOT NULL,
    title character varying(200) NOT NULL,
    body text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: notes_id_seq; Type: SEQUENCE; Schema: legacy01; Owner: -
--

CREATE SEQUENCE legacy01.notes_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: notes_id_seq; Type: SEQUENCE OWNED BY; Schema: legacy01; Owner: -
--

ALTER SEQUENCE legacy01.notes_id_seq OWNED BY legacy01.notes.id;


--
-- Name: organizations; Type: TABLE; Schema: legacy01; Owner: -
--

CREATE TABLE legacy01.organizations (
    id bigint NOT NULL,
    slug character varying(63) NOT NULL,
    name character varying(200) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: organizations_id_seq; Type: SEQUENCE; Schema: legacy01; Owner: -
--

CREATE SEQUENCE legacy01.organizations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: organizations_id_seq; Type: SEQUENCE OWNED BY; Schema: legacy01; Owner: -
--

ALTER SEQUENCE legacy01.organizations_id_seq OWNED BY legacy01.organizations.id;


--
-- Name: settings; Type: TABLE; Schema: legacy01; Owner: -
--

CREATE TABLE legacy01.settings (
    name character varying(64) NOT NULL,
    value text NOT NULL
);


--
-- Name: tokens; Type: TABLE; Schema: legacy01; Owner: -
--

CREATE TABLE legacy01.tokens (
    id bigint NOT NULL,
    user_id bigint NOT NULL,
    token_hash character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: tokens_id_seq; Type: SEQUENCE; Schema: legacy01; Owner: -
--

CREATE SEQUENCE legacy01.tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: tokens_id_seq; Type: SEQUENCE OWNED BY; Schema: legacy01; Owner: -
--

ALTER SEQUENCE legacy01.tokens_id_seq OWNED BY legacy01.tokens.id;


--
-- Name: users; Type: TABLE; Schema: legacy01; Owner: -
--

CREATE TABLE legacy01.users (
    id bigint NOT NULL,
    name character varying(64) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: users_id_seq; Type: SEQUENCE; Schema: legacy01; Owner: -
--

CREATE SEQUENCE legacy01.users_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: users_id_seq; Type: SEQUENCE OWNED BY; Schema: legacy01; Owner: -
--

ALTER SEQUENCE legacy01.users_id_seq OWNED BY legacy01.users.id;


--
-- Name: notes id; Type: DEFAULT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.notes ALTER COLUMN id SET DEFAULT nextval('legacy01.notes_id_seq'::regclass);


--
-- Name: organizations id; Type: DEFAULT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.organizations ALTER COLUMN id SET DEFAULT nextval('legacy01.organizations_id_seq'::regclass);


--
-- Name: tokens id; Type: DEFAULT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.tokens ALTER COLUMN id SET DEFAULT nextval('legacy01.tokens_id_seq'::regclass);


--
-- Name: users id; Type: DEFAULT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.users ALTER COLUMN id SET DEFAULT nextval('legacy01.users_id_seq'::regclass);


--
-- Data for Name: idempotency_keys; Type: TABLE DATA; Schema: legacy01; Owner: -
--

INSERT INTO legacy01.idempotency_keys VALUES (1, 'key-1', 'bef6b054c37d38c5c063049a0cc9598acfca625afd12e9aebf5f486d29e62454', 201, '{"id":4,"title":"once","body":"","tags":["retry"],"author":"alice","created_at":"2026-12-01T21:40:17.191087Z","updated_at":"2026-12-01T21:40:17.191087Z"}', '{"Location":"http://localhost/orgs/acme/notes/4"}', '2026-12-01 21:40:17.185686+00');


--
-- Data for Name: memberships; Type: TABLE DATA; Schema: legacy01; Owner: -
--

INSERT INTO legacy01.memberships VALUES (1, 1, 'owner', '2026-12-01 21:40:17.080243+00');
INSERT INTO legacy01.memberships VALUES (1, 2, 'member', '2026-12-01 21:40:17.114637+00');


--
-- Data for Name: note_tags; Type: TABLE DATA; Schema: legacy01; Owner: -
--

INSERT INTO legacy01.note_tags VALUES (1, 't0', 0);
INSERT INTO legacy01.note_tags VALUES (1, 'shared', 1);
INSERT INTO legacy01.note_tags VALUES (2, 't1', 0);
INSERT INTO legacy01.note_tags VALUES (2, 'shared', 1);
INSERT INTO legacy01.note_tags VALUES (3, 't2', 0);
INSERT INTO legacy01.note_tags VALUES (3, 'shared', 1);
INSERT INTO legacy01.note_tags VALUES (4, 'retry', 0);


--
-- Data for Name: notes; Type: TABLE DATA; Schema: legacy01; Owner: -
--

INSERT INTO legacy01.notes VALUES (1, 1, 1, 'note 0', 'body ✓ body ✓ body ✓ ', '2026-12-01 21:40:17.126095+00', '2026-12-01 21:40:17.126095+00');
INSERT INTO legacy01.notes VALUES (2, 1, 1, 'note 1', 'body ✓ body ✓ body ✓ ', '2026-12-01 21:40:17.141786+00', '2026-12-01 21:40:17.141786+00');
INSERT INTO legacy01.notes VALUES (3, 1, 1, 'note 2', 'body ✓ body ✓ body ✓ ', '2026-12-01 21:40:17.163286+00', '2026-12-01 21:40:17.163286+00');
INSERT INTO legacy01.notes VALUES (4, 1, 1, 'once', '', '2026-12-01 21:40:17.191087+00', '2026-12-01 21:40:17.191087+00');


--
-- Data for Name: organizations; Type: TABLE DATA; Schema: legacy01; Owner: -
--

INSERT INTO legacy01.organizations VALUES (1, 'acme', 'Acme <&> ''Co''', '2026-12-01 21:40:17.080243+00');


--
-- Data for Name: settings; Type: TABLE DATA; Schema: legacy01; Owner: -
--

INSERT INTO legacy01.settings VALUES ('cursor_secret', 'lY76JyIH6J7OJDreYYUtz7J7E7CjKsRp59li1Hnofxc');


--
-- Data for Name: tokens; Type: TABLE DATA; Schema: legacy01; Owner: -
--

INSERT INTO legacy01.tokens VALUES (1, 1, '571809e43ad3756b049a78b98a14234abf52422a9e690fa02f75098b76c39292', '2026-12-01 21:40:17.064784+00');
INSERT INTO legacy01.tokens VALUES (2, 2, '7c2cbc102c11a4649f72df66927fcd5a6e679b5be39aea03596c2ea78b6a9827', '2026-12-01 21:40:17.073485+00');


--
-- Data for Name: users; Type: TABLE DATA; Schema: legacy01; Owner: -
--

INSERT INTO legacy01.users VALUES (1, 'alice', '2026-12-01 21:40:17.048493+00');
INSERT INTO legacy01.users VALUES (2, 'bob', '2026-12-01 21:40:17.056002+00');


--
-- Name: notes_id_seq; Type: SEQUENCE SET; Schema: legacy01; Owner: -
--

SELECT pg_catalog.setval('legacy01.notes_id_seq', 4, true);


--
-- Name: organizations_id_seq; Type: SEQUENCE SET; Schema: legacy01; Owner: -
--

SELECT pg_catalog.setval('legacy01.organizations_id_seq', 1, true);


--
-- Name: tokens_id_seq; Type: SEQUENCE SET; Schema: legacy01; Owner: -
--

SELECT pg_catalog.setval('legacy01.tokens_id_seq', 2, true);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: legacy01; Owner: -
--

SELECT pg_catalog.setval('legacy01.users_id_seq', 2, true);


--
-- Name: idempotency_keys pk_idempotency_keys; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.idempotency_keys
    ADD CONSTRAINT pk_idempotency_keys PRIMARY KEY (user_id, key);


--
-- Name: memberships pk_memberships; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.memberships
    ADD CONSTRAINT pk_memberships PRIMARY KEY (org_id, user_id);


--
-- Name: note_tags pk_note_tags; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.note_tags
    ADD CONSTRAINT pk_note_tags PRIMARY KEY (note_id, tag);


--
-- Name: notes pk_notes; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.notes
    ADD CONSTRAINT pk_notes PRIMARY KEY (id);


--
-- Name: organizations pk_organizations; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.organizations
    ADD CONSTRAINT pk_organizations PRIMARY KEY (id);


--
-- Name: settings pk_settings; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.settings
    ADD CONSTRAINT pk_settings PRIMARY KEY (name);


--
-- Name: tokens pk_tokens; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.tokens
    ADD CONSTRAINT pk_tokens PRIMARY KEY (id);


--
-- Name: users pk_users; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.users
    ADD CONSTRAINT pk_users PRIMARY KEY (id);


--
-- Name: organizations uq_organizations_slug; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.organizations
    ADD CONSTRAINT uq_organizations_slug UNIQUE (slug);


--
-- Name: tokens uq_tokens_token_hash; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.tokens
    ADD CONSTRAINT uq_tokens_token_hash UNIQUE (token_hash);


--
-- Name: users uq_users_name; Type: CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.users
    ADD CONSTRAINT uq_users_name UNIQUE (name);


--
-- Name: ix_memberships_user_id; Type: INDEX; Schema: legacy01; Owner: -
--

CREATE INDEX ix_memberships_user_id ON legacy01.memberships USING btree (user_id);


--
-- Name: ix_note_tags_tag_note_id; Type: INDEX; Schema: legacy01; Owner: -
--

CREATE INDEX ix_note_tags_tag_note_id ON legacy01.note_tags USING btree (tag, note_id);


--
-- Name: ix_notes_org_id_id; Type: INDEX; Schema: legacy01; Owner: -
--

CREATE INDEX ix_notes_org_id_id ON legacy01.notes USING btree (org_id, id);


--
-- Name: idempotency_keys fk_idempotency_keys_user_id_users; Type: FK CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.idempotency_keys
    ADD CONSTRAINT fk_idempotency_keys_user_id_users FOREIGN KEY (user_id) REFERENCES legacy01.users(id) ON DELETE CASCADE;


--
-- Name: memberships fk_memberships_org_id_organizations; Type: FK CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.memberships
    ADD CONSTRAINT fk_memberships_org_id_organizations FOREIGN KEY (org_id) REFERENCES legacy01.organizations(id) ON DELETE CASCADE;


--
-- Name: memberships fk_memberships_user_id_users; Type: FK CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.memberships
    ADD CONSTRAINT fk_memberships_user_id_users FOREIGN KEY (user_id) REFERENCES legacy01.users(id) ON DELETE CASCADE;


--
-- Name: note_tags fk_note_tags_note_id_notes; Type: FK CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.note_tags
    ADD CONSTRAINT fk_note_tags_note_id_notes FOREIGN KEY (note_id) REFERENCES legacy01.notes(id) ON DELETE CASCADE;


--
-- Name: notes fk_notes_author_id_users; Type: FK CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.notes
    ADD CONSTRAINT fk_notes_author_id_users FOREIGN KEY (author_id) REFERENCES legacy01.users(id);


--
-- Name: notes fk_notes_org_id_organizations; Type: FK CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.notes
    ADD CONSTRAINT fk_notes_org_id_organizations FOREIGN KEY (org_id) REFERENCES legacy01.organizations(id) ON DELETE CASCADE;


--
-- Name: tokens fk_tokens_user_id_users; Type: FK CONSTRAINT; Schema: legacy01; Owner: -
--

ALTER TABLE ONLY legacy01.tokens
    ADD CONSTRAINT fk_tokens_user_id_users FOREIGN KEY (user_id) REFERENCES legacy01.users(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--


