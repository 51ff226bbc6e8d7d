"""The database schema as an ordered list of migrations, the same for SQLite and PostgreSQL.

`db.schema_version` records how many ran. They are written in SQLite's words; `db._statements` gives PostgreSQL
its own for the two that differ (an auto-increment key, a double-precision REAL). A migration that only
makes sense per database (an index kind one of them lacks) gives each its statements. Tables are created
before any table that refers to them (PostgreSQL checks a reference when it is declared).
Append new migrations at the end; never change what one that has shipped does, so upgrading keeps data.
"""

MIGRATIONS: tuple[str | dict[str, tuple[str, ...]], ...] = (
    # 1: videos, steps, transcript, turns, speakers, exchanges and clips
    """
    CREATE TABLE videos (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        url TEXT NOT NULL,
        title TEXT,
        uploader TEXT,
        duration REAL,
        thumbnail_url TEXT,
        thumbnail_path TEXT,
        resolution TEXT NOT NULL DEFAULT 'best',
        width INTEGER,
        height INTEGER,
        video_path TEXT,
        audio_path TEXT,
        auto INTEGER NOT NULL DEFAULT 0,
        clips INTEGER NOT NULL DEFAULT 0,
        num_speakers INTEGER,
        min_speakers INTEGER,
        max_speakers INTEGER,
        language TEXT,
        transcript_note TEXT,
        exchanges_note TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX videos_created ON videos (created_at DESC, id DESC);

    CREATE TABLE exchanges (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('auto', 'manual')),
        start_time REAL NOT NULL,
        end_time REAL NOT NULL,
        question TEXT,
        asker TEXT,
        answerer TEXT,
        chain INTEGER NOT NULL DEFAULT 0,
        burn_subtitles INTEGER,
        note TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (video_id, label)
    );

    CREATE TABLE steps (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
        exchange_id INTEGER REFERENCES exchanges (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        progress REAL NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        task_id TEXT,
        queued_at TEXT,
        started_at TEXT,
        finished_at TEXT,
        updated_at TEXT
    );
    CREATE UNIQUE INDEX steps_identity ON steps (video_id, COALESCE(exchange_id, 0), name);
    CREATE INDEX steps_state ON steps (state);

    CREATE TABLE segments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        start_time REAL NOT NULL,
        end_time REAL NOT NULL,
        text TEXT NOT NULL,
        speaker TEXT
    );
    CREATE INDEX segments_video ON segments (video_id, position);

    CREATE TABLE words (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        segment_id INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
        video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        start_time REAL NOT NULL,
        end_time REAL NOT NULL,
        text TEXT NOT NULL,
        probability REAL,
        speaker TEXT
    );
    CREATE INDEX words_segment ON words (segment_id, position);
    CREATE INDEX words_video ON words (video_id, start_time);

    CREATE TABLE turns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
        start_time REAL NOT NULL,
        end_time REAL NOT NULL,
        speaker TEXT NOT NULL
    );
    CREATE INDEX turns_video ON turns (video_id, start_time);

    CREATE TABLE speakers (
        video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        name TEXT,
        PRIMARY KEY (video_id, label)
    );

    CREATE TABLE exchange_segments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        exchange_id INTEGER NOT NULL REFERENCES exchanges (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        start_time REAL NOT NULL,
        end_time REAL NOT NULL,
        speaker TEXT NOT NULL
    );

    CREATE TABLE clips (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        exchange_id INTEGER NOT NULL REFERENCES exchanges (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('speaker', 'exchange')),
        start_time REAL NOT NULL,
        end_time REAL NOT NULL,
        speaker TEXT,
        note TEXT,
        path TEXT,
        srt_path TEXT,
        vtt_path TEXT,
        created_at TEXT NOT NULL
    );
    """,
    # 2: login sessions end everywhere when the generation stored here changes (logout)
    """
    CREATE TABLE auth_state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    INSERT INTO auth_state (key, value) VALUES ('session_generation', '0');
    """,
    # 3: the transcript as Whisper gave it, before speakers were assigned (alignment re-reads it whenever
    # the speakers change); it used to be a side file next to the audio
    """
    CREATE TABLE raw_transcripts (
        video_id INTEGER PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
        data TEXT NOT NULL
    );
    """,
    # 4: a still of each clip, shown on its card before it plays
    """
    ALTER TABLE clips ADD COLUMN poster_path TEXT;
    """,
    # 5: captions burned into a clip's picture, and whether a rename made them out of date
    """
    ALTER TABLE clips ADD COLUMN burned_captions INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE clips ADD COLUMN captions_out_of_date INTEGER NOT NULL DEFAULT 0;
    """,
    # 6: each exchange's clip shape: the original picture or a vertical 9:16 crop placed across it
    """
    ALTER TABLE exchanges ADD COLUMN shape TEXT NOT NULL DEFAULT 'original';
    ALTER TABLE exchanges ADD COLUMN crop_x REAL NOT NULL DEFAULT 0.5;
    """,
    # 7: how burned-in captions look: one plain line, or words lighting up as they are said
    """
    ALTER TABLE exchanges ADD COLUMN caption_style TEXT NOT NULL DEFAULT 'plain';
    """,
    # 8: the speaker library: people, each diarized speaker's voiceprint, which speaker is whom, the person
    # a voice sounds like (a suggestion) and the suggestions the user turned down
    """
    CREATE TABLE people (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX people_name ON people (lower(name));

    CREATE TABLE voices (
        video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        vector TEXT NOT NULL,
        seconds REAL NOT NULL,
        PRIMARY KEY (video_id, label)
    );

    ALTER TABLE speakers ADD COLUMN person_id INTEGER REFERENCES people (id) ON DELETE SET NULL;
    ALTER TABLE speakers ADD COLUMN suggested_person_id INTEGER REFERENCES people (id) ON DELETE SET NULL;
    ALTER TABLE speakers ADD COLUMN suggestion_similarity REAL;
    CREATE INDEX speakers_person ON speakers (person_id);

    CREATE TABLE voice_rejections (
        video_id INTEGER NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
        label TEXT NOT NULL,
        person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
        PRIMARY KEY (video_id, label, person_id)
    );
    """,
    # 9: full-text search over every transcript. Each database has its own kind of index, so this one is
    # written for each (statements, not split on ";": SQLite's triggers hold their own): SQLite's FTS5 over
    # the segments' text (English stemming, like PostgreSQL's), kept in step by triggers; PostgreSQL's GIN
    # index over the same text's tsvector.
    {
        "sqlite": (
            "CREATE VIRTUAL TABLE segments_search USING fts5(text, content='segments', content_rowid='id', "
            "tokenize='porter unicode61')",
            "INSERT INTO segments_search (rowid, text) SELECT id, text FROM segments",
            "CREATE TRIGGER segments_search_insert AFTER INSERT ON segments BEGIN "
            "INSERT INTO segments_search (rowid, text) VALUES (new.id, new.text); END",
            "CREATE TRIGGER segments_search_delete AFTER DELETE ON segments BEGIN "
            "INSERT INTO segments_search (segments_search, rowid, text) VALUES ('delete', old.id, old.text); END",
            "CREATE TRIGGER segments_search_update AFTER UPDATE OF text ON segments BEGIN "
            "INSERT INTO segments_search (segments_search, rowid, text) VALUES ('delete', old.id, old.text); "
            "INSERT INTO segments_search (rowid, text) VALUES (new.id, new.text); END",
        ),
        "postgresql": ("CREATE INDEX segments_search ON segments USING GIN (to_tsvector('english', text))",),
    },
    # 10: a line a step shows beside its state: where a model step ran ("on CUDA"), or why it ran on the
    # CPU although a GPU was asked for
    """
    ALTER TABLE steps ADD COLUMN note TEXT;
    """,
    # 11: each clip's title (its Q&A's question, shortened), for its card, its file names and the exports;
    # clips defined before it take their Q&A's question
    """
    ALTER TABLE clips ADD COLUMN title TEXT;
    UPDATE clips SET title = (SELECT question FROM exchanges WHERE exchanges.id = clips.exchange_id);
    """,
    # 12: clips people can publish: each exchange's caption position and whether captions name a new speaker
    # (NULL: as its shape suggests), the caption styles' new names, and each clip's frame size and the height
    # of the source it was enlarged from (NULL: not enlarged)
    """
    ALTER TABLE exchanges ADD COLUMN caption_position TEXT NOT NULL DEFAULT 'bottom';
    ALTER TABLE exchanges ADD COLUMN caption_names INTEGER;
    UPDATE exchanges SET caption_style = 'clean' WHERE caption_style = 'plain';
    UPDATE exchanges SET caption_style = 'highlight' WHERE caption_style = 'words';
    ALTER TABLE clips ADD COLUMN width INTEGER;
    ALTER TABLE clips ADD COLUMN height INTEGER;
    ALTER TABLE clips ADD COLUMN upscaled_from INTEGER;
    """,
    # 13: conversations in any language. Each video's Whisper model; each segment's search configuration
    # (PostgreSQL's text search configuration of its video's language, 'simple' for one it does not stem:
    # the GIN index is over the tsvector of that configuration, row by row); SQLite's FTS5 index rebuilt with
    # diacritics removed ("Mexico" finds "México"), Porter stemming kept for every row (one FTS5 table has one
    # tokenizer); English text of a video in another language (Whisper's translate task), for a second set
    # of subtitles, and its step, optional, for every video.
    {
        "sqlite": (
            "ALTER TABLE videos ADD COLUMN transcript_model TEXT",
            "ALTER TABLE segments ADD COLUMN search_config TEXT NOT NULL DEFAULT 'english'",
            "DROP TRIGGER segments_search_insert",
            "DROP TRIGGER segments_search_delete",
            "DROP TRIGGER segments_search_update",
            "DROP TABLE segments_search",
            "CREATE VIRTUAL TABLE segments_search USING fts5(text, content='segments', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')",
            "INSERT INTO segments_search (rowid, text) SELECT id, text FROM segments",
            "CREATE TRIGGER segments_search_insert AFTER INSERT ON segments BEGIN "
            "INSERT INTO segments_search (rowid, text) VALUES (new.id, new.text); END",
            "CREATE TRIGGER segments_search_delete AFTER DELETE ON segments BEGIN "
            "INSERT INTO segments_search (segments_search, rowid, text) VALUES ('delete', old.id, old.text); END",
            "CREATE TRIGGER segments_search_update AFTER UPDATE OF text ON segments BEGIN "
            "INSERT INTO segments_search (segments_search, rowid, text) VALUES ('delete', old.id, old.text); "
            "INSERT INTO segments_search (rowid, text) VALUES (new.id, new.text); END",
            "CREATE TABLE translations (video_id INTEGER PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE, "
            "language TEXT NOT NULL, data TEXT NOT NULL)",
            "INSERT INTO steps (video_id, name) SELECT id, 'translate' FROM videos",
        ),
        "postgresql": (
            "ALTER TABLE videos ADD COLUMN transcript_model TEXT",
            "ALTER TABLE segments ADD COLUMN search_config regconfig NOT NULL DEFAULT 'english'",
            "UPDATE segments SET search_config = (CASE videos.language WHEN 'es' THEN 'spanish' "
            "WHEN 'fr' THEN 'french' WHEN 'de' THEN 'german' WHEN 'pt' THEN 'portuguese' WHEN 'it' THEN 'italian' "
            "WHEN 'nl' THEN 'dutch' WHEN 'ru' THEN 'russian' ELSE 'simple' END)::regconfig FROM videos "
            "WHERE videos.id = segments.video_id AND videos.language IS NOT NULL AND videos.language <> 'en'",
            "DROP INDEX segments_search",
            "CREATE INDEX segments_search ON segments USING GIN (to_tsvector(search_config, text))",
            "CREATE TABLE translations (video_id INTEGER PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE, "
            "language TEXT NOT NULL, data TEXT NOT NULL)",
            "INSERT INTO steps (video_id, name) SELECT id, 'translate' FROM videos",
        ),
    },
    # 14: how a vertical or square clip is framed: following whoever speaks (the default), fixed at crop_x, or
    # the two main people stacked (pipeline/framing.py's FRAMINGS); a crop already placed by hand stays
    """
    ALTER TABLE exchanges ADD COLUMN framing TEXT NOT NULL DEFAULT 'follow';
    UPDATE exchanges SET framing = 'fixed' WHERE crop_x <> 0.5;
    """,
    # 15: a video's two choices named for what they ask: the whole pipeline run through (was `auto`), and then
    # clips cut of every Q&A found (was `clips`, which read like a list of clips)
    """
    ALTER TABLE videos RENAME COLUMN auto TO wants_whole_pipeline;
    ALTER TABLE videos RENAME COLUMN clips TO wants_clips;
    """,
    # 16: the first step of a Q&A is named for what it does, as its button says ("Label speakers")
    "UPDATE steps SET name = 'label_speakers' WHERE name = 'process_diarization'",
    # 17: a Q&A's one caption choice under one name: `captions` (none or a caption style; NULL: the
    # CLIP_BURN_SUBTITLES setting decides), made of burn_subtitles (NULL, 0 or 1) and caption_style (the style
    # when 1, old names renamed as in 12), which go
    """
    ALTER TABLE exchanges ADD COLUMN captions TEXT;
    UPDATE exchanges SET captions = CASE
        WHEN burn_subtitles = 0 THEN 'none'
        WHEN caption_style = 'plain' THEN 'clean'
        WHEN caption_style = 'words' THEN 'highlight'
        ELSE caption_style END
    WHERE burn_subtitles IS NOT NULL;
    ALTER TABLE exchanges DROP COLUMN burn_subtitles;
    ALTER TABLE exchanges DROP COLUMN caption_style;
    """,
)
