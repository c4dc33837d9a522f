-- The sessions table of 0000 was never written (sessions did not exist yet); 0005 creates its real shape.
DROP TABLE `sessions`;