"""The named objects of a business unit (teams, queues, work streams, presence statuses, skills,
user profiles, security profiles): reading them, and creating, changing and deleting them."""
