-- provisioning 1.1 -> 1.2.
-- Each section below names what it is for; provisioning--1.2--1.1.sql undoes them in
-- reverse order and keeps every user row.

\echo Use "ALTER EXTENSION provisioning UPDATE TO '1.2'" to load this file. \quit
