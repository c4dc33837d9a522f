CREATE TABLE one_row (id INTEGER PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO one_row (id, value) VALUES (1, 'keyward');
